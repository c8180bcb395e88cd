"""Where the time of a turn goes: the Rasa and action server debug logs, timestamped.

Rasa 3.6 debug lines carry no timestamps (and no sub-second ones at all), so both servers
run with LOG_LEVEL=DEBUG and unbuffered output into a pipe, and a reader thread stamps every
line on arrival (monotonic clock, shared with the client). The silence after a line is the
time of the step that line announced ("Node 'run_DIETClassifier7' running ...", "Calling
action endpoint to run action ...", "No event broker configured" = the tracker being saved;
the action server runs with --debug, so its "Received request to run"/"Finished running"
lines split an action call into sending, running and answering).
Debug logging itself costs a little (every turn dumps slots and states), so totals are a
bit higher than in the latency run.

    .venv/bin/python -m bench.profile_turn              # every script of bench/scripts.py,
                                                        # time summed per step kind
    .venv/bin/python -m bench.profile_turn --turns      # a few slow candidates, biggest gaps
    .venv/bin/python -m bench.profile_turn "текст"      # one message of your own
    .venv/bin/python -m bench.profile_turn --startup    # the cold start instead

Each turn's full stamped log is appended to results/profile_turn.log.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import requests

from bench.common import BenchServers
from bench.scripts import SCRIPTS, TIME_BUTTON, long_message
from msgops.harness import BIN, ROOT, write_business_file

Line = Tuple[float, str, str]  # (monotonic time, process name, text)
DUMP = ROOT / "results" / "profile_turn.log"


@dataclass
class StampedServers(BenchServers):
    """BenchServers whose processes' output is read line by line and timestamped."""

    def __post_init__(self) -> None:
        self.lines: List[Line] = []
        self._lines_lock = threading.Lock()
        self.extra_env = {"LOG_LEVEL": "DEBUG", **self.extra_env, "PYTHONUNBUFFERED": "1"}

    def _spawn(self, name: str, args: List[str]) -> subprocess.Popen:
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()
        return process

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        with (self.workdir / f"{name}.log").open("w") as log:
            for raw in process.stdout:
                stamp = time.monotonic()
                text = raw.decode("utf-8", errors="replace").rstrip()
                log.write(f"{stamp:.4f} {text}\n")
                with self._lines_lock:
                    self.lines.append((stamp, name, text))

    def start_actions(self) -> subprocess.Popen:  # rasa_sdk ignores LOG_LEVEL; --debug it is
        return self._spawn("actions", [str(BIN / "rasa"), "run", "actions", "--actions",
                                       "actions", "--port", str(self.actions_port), "--debug"])

    def lines_between(self, start: float, end: float) -> List[Line]:
        with self._lines_lock:
            return [line for line in self.lines if start <= line[0] <= end]


def _segments(lines: Sequence[Line], start: float, end: float) -> List[Tuple[float, Line, Line]]:
    points = [(start, "client", "POST sent")] + list(lines) + [(end, "client", "reply received")]
    return [(t1 - t0, (t0, w0, x0), (t1, w1, x1))
            for (t0, w0, x0), (t1, w1, x1) in zip(points, points[1:], strict=False)]


def gaps(lines: Sequence[Line], start: float, end: float, top: int = 8) -> List[Dict[str, object]]:
    """The biggest silences in [start, end], each with the lines before and after it."""
    out = [{"ms": round(d * 1000, 1), "after": f"[{a[1]}] {_short(a[2])}",
            "next": f"[{b[1]}] {_short(b[2])}"} for d, a, b in _segments(lines, start, end)]
    return sorted(out, key=lambda g: -g["ms"])[:top]


_NODE = re.compile(r"Node '(?:run_)?([A-Za-z_.]+?)\d*' running")
_RECEIVED = re.compile(r"Received request to run '(\w+)'")


def categories(segments: Sequence[Tuple[float, Line, Line]]) -> List[Tuple[str, float]]:
    """(what the silence after each log line was spent on, its duration)."""
    out = []
    running: Optional[str] = None  # the action the action server is running
    for duration, (_, who, text), _ in segments:
        received = _RECEIVED.search(text) if who == "actions" else None
        if received:
            running = received.group(1)
        if who == "actions" and "Finished running" in text:
            running = None
            name = "action call: reply back to Rasa (HTTP, events)"
        elif running is not None:
            name = f"action run: {running}"
        elif who == "client":
            name = "HTTP in, lock, tracker load" if text == "POST sent" else "?"
        elif who == "actions":
            name = "action server, other"
        elif _NODE.search(text):
            name = f"node {_NODE.search(text).group(1).rsplit('.', 1)[-1]}"
        elif "Calling action endpoint to run action" in text:
            name = "action call: Rasa to action server (tracker JSON, HTTP)"
        elif "No event broker configured" in text:
            name = "tracker save (SQLite)"
        elif "Acquired lock for conversation" in text:
            name = "HTTP in, lock, tracker load"
        elif "Deleted lock" in text or "stored to database" in text:
            name = "reply out"
        else:
            name = "other Rasa work (incl. debug logging)"
        out.append((name, duration))
    return out


def breakdown(turns: Sequence[Tuple[float, List[Line], float]]) -> Dict[str, Dict[str, float]]:
    """Time per category summed over turns: {category: {ms_per_turn, share}}."""
    total = 0.0
    per: Dict[str, float] = defaultdict(float)
    for start, lines, end in turns:
        for name, duration in categories(_segments(lines, start, end)):
            per[name] += duration
            total += duration
    return {k: {"ms_per_turn": round(v * 1000 / max(1, len(turns)), 1),
                "share": round(v / total, 3) if total else 0.0}
            for k, v in sorted(per.items(), key=lambda kv: -kv[1])}


def _short(text: str, width: int = 220) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _time_button(replies: List[dict]) -> Optional[str]:
    for reply in replies:
        for button in reply.get("buttons", []) or []:
            if '"time"' in button.get("payload", ""):
                return button["payload"]
    return None


def run_turns(conversations: Sequence[Sequence[Tuple[str, str]]], timeout: float = 60.0,
              dump: Optional[Path] = DUMP, fallback_time: str = "завтра в 11"
              ) -> Tuple[List[Dict[str, object]], List[Tuple[float, List[Line], float]]]:
    """Each conversation (a list of (label, text)) in its own sender, turn after turn."""
    results: List[Dict[str, object]] = []
    raw: List[Tuple[float, List[Line], float]] = []
    with tempfile.TemporaryDirectory(prefix="msgops-profile-") as tmp:
        work = Path(tmp)
        servers = StampedServers(work, f"sqlite:///{work / 'msgops.db'}",
                                 write_business_file(work))
        try:
            servers.start()
            url = f"{servers.rasa_url}/webhooks/rest/webhook"
            with requests.Session() as session:
                for text in ("привет", "hi, how much is a deep clean?"):  # warm-up, not timed
                    session.post(url, json={"sender": f"warm-{uuid.uuid4().hex[:6]}",
                                            "message": text}, timeout=timeout)
                time.sleep(0.5)
                for turns in conversations:
                    sender = f"prof-{uuid.uuid4().hex[:8]}"
                    replies: List[dict] = []
                    for label, text in turns:
                        if text == TIME_BUTTON:
                            text = _time_button(replies) or fallback_time
                        start = time.monotonic()
                        response = session.post(url, json={"sender": sender, "message": text},
                                                timeout=timeout)
                        end = time.monotonic()
                        replies = response.json() if response.ok else []
                        time.sleep(0.3)  # let the last log lines arrive
                        lines = servers.lines_between(start, end)
                        raw.append((start, lines, end))
                        if dump is not None:
                            dump.parent.mkdir(parents=True, exist_ok=True)
                            with dump.open("a") as out:
                                out.write(f"\n### {label}: {(end - start) * 1000:.1f} ms\n")
                                for stamp, who, line in lines:
                                    out.write(f"{(stamp - start) * 1000:8.1f} [{who}] {line}\n")
                        results.append({"message": label, "status": response.status_code,
                                        "total_ms": round((end - start) * 1000, 1),
                                        "replies": len(replies), "log_lines": len(lines),
                                        "gaps": gaps(lines, start, end)})
        finally:
            servers.stop()
    return results, raw


def profile_scripts() -> Dict[str, object]:
    """Every script once (as in the sequential latency run), time per step kind."""
    conversations = [[(f"{s.lang} {kind}", text) for kind, text in s.steps] for s in SCRIPTS]
    results, raw = run_turns(conversations)
    return {"turns": len(results),
            "mean_ms": round(sum(r["total_ms"] for r in results) / max(1, len(results)), 1),
            "breakdown": breakdown(raw),
            "slowest": sorted(({"message": r["message"], "total_ms": r["total_ms"]}
                               for r in results), key=lambda r: -r["total_ms"])[:5]}


MILESTONES = {  # first log line containing the text, seconds after the processes started
    "actions: up": "Action endpoint is up and running",
    "rasa: imports done, server starting": "Starting Rasa server on",
    "rasa: model loading starts": "Loading model",
    "rasa: DIET loaded": "Node 'run_EntitySynonymMapper",
    "rasa: model loaded, server up": "Rasa server is up and running",
}


def startup(top: int = 10) -> Dict[str, object]:
    """Where the cold start goes: the biggest gaps between log lines until both answer."""
    with tempfile.TemporaryDirectory(prefix="msgops-profile-") as tmp:
        work = Path(tmp)
        servers = StampedServers(work, f"sqlite:///{work / 'msgops.db'}",
                                 write_business_file(work))
        try:
            servers.start()
            end = servers.started_at + servers.ready_after
            lines = servers.lines_between(servers.started_at, end)
            marks = {}
            for stamp, _who, text in lines:
                for key, needle in MILESTONES.items():
                    if key not in marks and needle in text:
                        marks[key] = round(stamp - servers.started_at, 2)
            return {"ready_s": round(servers.ready_after, 2), "log_lines": len(lines),
                    "milestones_s": marks, "gaps": gaps(lines, servers.started_at, end, top=top)}
        finally:
            servers.stop()


def _print_gaps(items: Sequence[Dict[str, object]]) -> None:
    for gap in items:
        print(f"  {gap['ms']:8.1f} ms after {gap['after']}\n{'':14}until {gap['next']}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--startup"]:
        item = startup()
        print(f"ready after {item['ready_s']} s, {item['log_lines']} log lines")
        for key, seconds in sorted(item["milestones_s"].items(), key=lambda kv: kv[1]):
            print(f"  {seconds:6.2f} s  {key}")
        _print_gaps(item["gaps"])
    elif not args:
        summary = profile_scripts()
        print(f"{summary['turns']} turns, mean {summary['mean_ms']} ms; time per turn by step:")
        for name, part in summary["breakdown"].items():
            print(f"  {part['ms_per_turn']:7.1f} ms  {part['share']:6.1%}  {name}")
        print("slowest:", summary["slowest"])
    else:
        if args == ["--turns"]:
            own = [("price+entities ru", "Добрый день, я Алексей, нужна сборка мебели в "
                    "Красногорске в пятницу вечером, мой телефон 89161112233, бюджет 5000 руб. "
                    "Сколько выйдет?"), ("5000 chars ru", long_message("ru")),
                   ("greeting en", "hello there")]
        else:
            own = [("argument", " ".join(args))]
        found, _ = run_turns([[item] for item in own])
        for item in found:
            print(f"\n{item['message']}: {item['total_ms']} ms total, {item['replies']} replies, "
                  f"{item['log_lines']} log lines")
            _print_gaps(item["gaps"])
