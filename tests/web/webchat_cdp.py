"""Headless Chromium driven over the Chrome DevTools Protocol, with no extra dependency.

Chromium (Debian's package) is started with --remote-debugging-port=0; the port it picked
is read from DevToolsActivePort in its fresh profile folder, and the page is driven through
its DevTools WebSocket with the `websockets` package that Rasa already installs.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
import websockets

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
]
PHONE_SIZE = (390, 844)


def find_chromium() -> Optional[str]:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium() -> str:
    """The Chromium binary; installs Debian's chromium + chromium-driver when it is missing.

    MSGOPS_CHROMIUM names another binary. Raises RuntimeError with the reason when there is
    none and installing is impossible (the caller skips).
    """
    explicit = os.environ.get("MSGOPS_CHROMIUM")
    if explicit:
        if shutil.which(explicit):
            return explicit
        raise RuntimeError(f"MSGOPS_CHROMIUM={explicit} is not an executable")
    found = find_chromium()
    if found:
        return found
    if not shutil.which("apt-get"):
        raise RuntimeError("no chromium on PATH and no apt-get to install it")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise RuntimeError("no chromium on PATH; install it as root: "
                           "apt-get update && apt-get install -y chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    install = ["apt-get", *lock, "install", "-y", "-q", "chromium", "chromium-driver"]
    output = ""
    for command in (install, ["apt-get", *lock, "update", "-q"], install):
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=1200, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{' '.join(command)} took more than 20 minutes") from None
        output = result.stdout[-1500:] + result.stderr[-1500:]
        found = find_chromium()
        if command is install and result.returncode == 0 and found:
            return found
    raise RuntimeError(f"could not install chromium with apt-get:\n{output}")


class Chromium:
    """One headless Chromium process with its own throwaway profile."""

    def __init__(self, binary: str, profile_dir: Path, size: tuple = PHONE_SIZE) -> None:
        self.profile_dir = profile_dir
        self.log_path = profile_dir.parent / f"{profile_dir.name}-chromium.log"
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                   f"--window-size={size[0]},{size[1]}", "about:blank"]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        self.port = self._wait_for_port()

    def _wait_for_port(self, seconds: float = 60) -> int:
        marker = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.log_path.read_text()[-2000:]}")
            if marker.exists():
                first = marker.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            time.sleep(0.1)
        raise RuntimeError(f"chromium gave no DevTools port: {self.log_path.read_text()[-2000:]}")

    def page_websocket_url(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/new?about:blank",
                                        timeout=10) as r:
                pages = [json.load(r)]
        return pages[0]["webSocketDebuggerUrl"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


class Page:
    """A page target: commands, JavaScript evaluation, polling, real mouse and keyboard input."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self._next_id = 0
        self._waiting: Dict[int, asyncio.Future] = {}
        self.console: List[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, websocket_url: str) -> Page:
        ws = await websockets.connect(websocket_url, max_size=None, ping_interval=None)
        page = cls(ws)
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._waiting.pop(message["id"], None)
                    if future and not future.done():
                        future.set_result(message)
                    continue
                method, params = message.get("method"), message.get("params", {})
                if method == "Runtime.consoleAPICalled":
                    args = " ".join(str(a.get("value", a.get("description", "")))
                                    for a in params.get("args", []))
                    self.console.append(f"console.{params.get('type')}: {args}")
                elif method == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    text = details.get("exception", {}).get("description") or details.get("text")
                    self.console.append(f"exception: {text}")
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(RuntimeError("DevTools connection closed"))

    async def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._waiting[self._next_id] = future
        await self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        message = await asyncio.wait_for(future, timeout)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message.get("result", {})

    async def eval(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                                     f"page console:\n" + "\n".join(self.console[-30:]))
            await asyncio.sleep(0.2)

    async def emulate_phone(self, width: int = PHONE_SIZE[0], height: int = PHONE_SIZE[1]) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=2, mobile=True)
        await self.send("Emulation.setTouchEmulationEnabled", enabled=True, maxTouchPoints=5)

    async def set_languages(self, accept_language: str) -> None:
        """What navigator.language(s) say, e.g. "ru-RU,ru" (Chromium's --lang is ignored on
        Linux, and Debian's chromium has no other locales without chromium-l10n)."""
        user_agent = await self.eval("navigator.userAgent")
        await self.send("Emulation.setUserAgentOverride", userAgent=user_agent,
                        acceptLanguage=accept_language)

    async def navigate(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for(f"location.href.startsWith({json.dumps(url)})"
                            " && document.readyState === 'complete'", f"{url} to load", timeout=30)

    async def reload(self) -> None:
        await self.eval("window.__beforeReload = true")
        await self.send("Page.reload", ignoreCache=True)
        await self.wait_for("!window.__beforeReload && document.readyState === 'complete'",
                            "the page to reload", timeout=30)

    async def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        await self.click_element(f"document.querySelector({json.dumps(selector)})", selector)

    async def click_element(self, element_js: str, what: str = "") -> None:
        """Click the element that the JavaScript expression returns."""
        box = await self.eval(f"""(() => {{
            const el = {element_js};
            if (!el) return null;
            el.scrollIntoView({{block: 'center'}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if not box:
            raise AssertionError(f"nothing to click: {what or element_js}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                            button="left", clickCount=1)

    async def type(self, selector: str, text: str) -> None:
        """Focus the field and type the text as keyboard input (IME-style insertion)."""
        await self.click(selector)
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                            **({"text": "\r"} if kind == "keyDown" else {}))

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


# ---- the page server, as scripts/run.sh starts it ----------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebChatProcess:
    url: str
    process: subprocess.Popen
    log_path: Path


def start_webchat(rasa_url: str, log_path: Path, extra: Optional[list] = None) -> WebChatProcess:
    """`python -m msgops.webchat` exactly as scripts/run.sh starts it, on a free port."""
    port = free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "msgops.webchat", "--port", str(port), "--rasa-url", rasa_url,
         *(extra or [])],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"msgops.webchat exited: {log_path.read_text()}")
        try:
            if requests.get(url + "health", timeout=1).ok:
                return WebChatProcess(url, process, log_path)
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"msgops.webchat did not answer: {log_path.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
