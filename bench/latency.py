"""Latency per message over the REST channel, under a mixed scripted load.

Simulated customers (threads, one HTTP session each) run the scripts of bench/scripts.py
against LocalServers on 127.0.0.1, each message timed from the POST to the full reply (the
REST channel answers when the whole turn, custom actions included, is done). Every request
has a timeout; the run stops at `max_messages` or `max_seconds`, whichever comes first.
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import requests

from bench.common import cpu_seconds, latency_summary, machine_cpu
from bench.scripts import SCRIPTS, TIME_BUTTON, Script
from msgops.harness import LocalServers


@dataclass
class Sample:
    kind: str
    lang: str
    script: str
    started: float
    seconds: float
    ok: bool
    replies: int
    error: str = ""


class Budget:
    """Shared message budget and deadline for all customers."""

    def __init__(self, max_messages: int, max_seconds: float) -> None:
        self.left = max_messages
        self.deadline = time.monotonic() + max_seconds
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def _time_button(replies: List[dict]) -> Optional[str]:
    for reply in replies:
        for button in reply.get("buttons", []) or []:
            payload = button.get("payload", "")
            if '"time"' in payload:
                return payload
    return None


def post(session: requests.Session, url: str, sender: str, text: str,
         timeout: float) -> Tuple[bool, List[dict], str]:
    try:
        response = session.post(url, json={"sender": sender, "message": text},
                                timeout=(5, timeout))
        if response.status_code != 200:
            return False, [], f"HTTP {response.status_code}"
        return True, response.json(), ""
    except (requests.RequestException, ValueError) as exc:
        return False, [], type(exc).__name__


def run_script(session: requests.Session, url: str, script: Script, budget: Budget,
               samples: List[Sample], lock: threading.Lock, think: Tuple[float, float],
               rng: random.Random, timeout: float, progress: Dict[str, int]) -> bool:
    """One customer conversation; False when the budget ran out on the way."""
    sender = f"bench-{script.lang}-{uuid.uuid4().hex[:10]}"
    replies: List[dict] = []
    for index, (kind, text) in enumerate(script.steps):
        if text == TIME_BUTTON:
            found = _time_button(replies)
            with lock:
                progress["time_button_steps"] += 1
                progress["time_buttons_offered"] += found is not None
                if found is None:
                    key = f"missed: {script.name} ({script.lang})"
                    progress[key] = progress.get(key, 0) + 1
            text = found or script.fallback_time
        if index and think[1] > 0:
            time.sleep(rng.uniform(*think))
        if not budget.take():
            return False
        started = time.monotonic()
        ok, replies, error = post(session, url, sender, text, timeout)
        seconds = time.monotonic() - started
        with lock:
            samples.append(Sample(kind, script.lang, script.name, started, seconds, ok,
                                  len(replies), error))
        if not ok:
            return True  # a broken conversation is not continued; the next one starts
    return True


def run_load(servers: LocalServers, customers: int, max_messages: int, max_seconds: float,
             think: Tuple[float, float] = (0.0, 0.0), timeout: float = 30.0,
             seed: int = 7, scripts: List[Script] = SCRIPTS,
             rounds: int = 10_000) -> Dict[str, object]:
    """`customers` concurrent customers, each running up to `rounds` scripts (shuffled) one
    after another."""
    url = f"{servers.rasa_url}/webhooks/rest/webhook"
    budget = Budget(max_messages, max_seconds)
    samples: List[Sample] = []
    lock = threading.Lock()
    progress = {"time_button_steps": 0, "time_buttons_offered": 0}

    def customer(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        order = list(scripts)
        rng.shuffle(order)
        with requests.Session() as session:
            for turn in range(rounds):  # the budget usually ends it first
                if not run_script(session, url, order[turn % len(order)], budget, samples,
                                  lock, think, rng, timeout, progress):
                    return

    cpu_before = {name: cpu_seconds(p.pid) for name, p in _named(servers)}
    own_before = cpu_seconds(os.getpid()) or 0.0
    machine_before = machine_cpu()
    wall_start = time.monotonic()
    with ThreadPoolExecutor(max_workers=customers, thread_name_prefix="customer") as pool:
        for future in [pool.submit(customer, n) for n in range(customers)]:
            future.result(timeout=max_seconds + timeout + 60)
    wall = time.monotonic() - wall_start
    result = summarise(samples, wall, customers=customers, think=think)
    # Did the lead scripts get as far as the call times? If not, the load skipped the
    # qualification and booking steps (an NLU or dialogue problem, not a latency one).
    result["lead_scripts_reaching_call_times"] = (
        f"{progress['time_buttons_offered']}/{progress['time_button_steps']}")
    result["lead_scripts_missing_call_times"] = {
        k[len("missed: "):]: v for k, v in progress.items() if k.startswith("missed: ")}
    done = max(1, result["messages"])
    ours = (cpu_seconds(os.getpid()) or 0.0) - own_before  # the simulated customers
    for name, process in _named(servers):
        before, after = cpu_before.get(name), cpu_seconds(process.pid)
        if before is not None and after is not None:
            result[f"cpu_ms_per_msg_{name}"] = round((after - before) * 1000 / done, 1)
            ours += after - before
    busy, total = (a - b for a, b in zip(machine_cpu(), machine_before, strict=True))
    # CPU used by everything else on the machine meanwhile (other jobs skew the figures)
    result["other_jobs_cpu_share"] = round(max(0.0, busy - ours) / total, 3) if total else None
    result["machine_cpu_busy_share"] = round(busy / total, 3) if total else None
    return result


def _named(servers: LocalServers) -> List[Tuple[str, object]]:
    """(name, process) of the running servers: the harness starts actions, then rasa."""
    names = ("actions", "rasa") if len(servers.processes) == 2 else ("rasa",)
    return list(zip(names, servers.processes, strict=False))


def run_sequential(servers: LocalServers, timeout: float = 30.0) -> Dict[str, object]:
    """One customer, no pause: every script once, so no message waits for another."""
    return run_load(servers, customers=1, max_messages=1000, max_seconds=600,
                    think=(0.0, 0.0), timeout=timeout, scripts=SCRIPTS, rounds=len(SCRIPTS))


def summarise(samples: List[Sample], wall: float, **params: object) -> Dict[str, object]:
    ok = [s for s in samples if s.ok]
    by_kind: Dict[str, List[float]] = defaultdict(list)
    by_lang: Dict[str, List[float]] = defaultdict(list)
    for s in ok:
        by_kind[s.kind].append(s.seconds)
        by_lang[s.lang].append(s.seconds)
    errors: Dict[str, int] = defaultdict(int)
    for s in samples:
        if not s.ok:
            errors[s.error] += 1
    return {
        **params,
        "messages": len(samples),
        "failed": len(samples) - len(ok),
        "errors": dict(errors),
        "no_reply": sum(1 for s in ok if s.replies == 0),
        "max_replies": max((s.replies for s in ok), default=0),
        # Rasa stops a turn after 10 predicted actions ("circuit breaker"): a turn with that
        # many replies is a policy loop, not a normal answer.
        "turns_with_5_or_more_replies": sum(1 for s in ok if s.replies >= 5),
        "wall_s": round(wall, 2),
        "throughput_msg_s": round(len(ok) / wall, 2) if wall > 0 else None,
        **latency_summary([s.seconds for s in ok]),
        "by_lang": {k: latency_summary(v) for k, v in sorted(by_lang.items())},
        "by_kind": {k: latency_summary(v) for k, v in
                    sorted(by_kind.items(), key=lambda kv: -max(kv[1]))},
        "slowest": [asdict(s) | {"seconds": round(s.seconds, 3)} for s in
                    sorted(ok, key=lambda s: -s.seconds)[:5]],
    }


def warm_up(servers: LocalServers, timeout: float = 60.0) -> Dict[str, float]:
    """The first messages after start pay for lazy initialisation; timed and kept apart."""
    times = {}
    with requests.Session() as session:
        url = f"{servers.rasa_url}/webhooks/rest/webhook"
        for lang, text in (("ru", "привет, сколько стоит уборка?"),
                           ("en", "hi, how much is a deep clean?")):
            started = time.monotonic()
            ok, _, error = post(session, url, f"warmup-{lang}-{uuid.uuid4().hex[:6]}", text,
                                timeout)
            times[f"first_{lang}_ms"] = round((time.monotonic() - started) * 1000, 1)
            if not ok:
                raise RuntimeError(f"warm-up message failed: {error}")
    return times


if __name__ == "__main__":  # a quick look: python -m bench.latency
    import tempfile
    from pathlib import Path

    from bench.common import new_servers

    with tempfile.TemporaryDirectory(prefix="msgops-bench-") as tmp:
        s = new_servers(Path(tmp))
        try:
            s.start()
            print("ready after", round(s.ready_after, 1), "s;", warm_up(s))
            print(json.dumps(run_sequential(s), ensure_ascii=False, indent=1))
        finally:
            s.stop()
