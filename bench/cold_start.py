"""Cold start: from spawning the processes to both servers answering (LocalServers.ready_after).

Each run is a fresh pair of processes in a fresh work folder with an empty SQLite store, so
nothing is shared with a previous start but the OS file cache. "ready" is the harness's
definition: the action server's /health and the Rasa server's /status both answer (Rasa
loads the model before it opens its port). Also timed: the first reply after ready, which
pays for the lazy initialisation of the first parse and prediction.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Dict, List

import requests

from bench.common import new_servers, rss_mb


def one_start(with_actions: bool = True, timeout: float = 60.0) -> Dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="msgops-cold-") as tmp:
        work = Path(tmp)
        servers = new_servers(work)
        try:
            servers.start(with_actions=with_actions)
            result = {"ready_s": round(servers.ready_after, 2)}
            if with_actions:
                started = time.monotonic()
                response = requests.post(f"{servers.rasa_url}/webhooks/rest/webhook",
                                         json={"sender": "cold-start", "message": "привет"},
                                         timeout=timeout)
                response.raise_for_status()
                first = time.monotonic() - started
                result["first_reply_ms"] = round(first * 1000, 1)
                result["ready_to_first_reply_s"] = round(servers.ready_after + first, 2)
                for name, process in zip(("actions", "rasa"), servers.processes, strict=False):
                    result[f"rss_{name}_mb"] = rss_mb(process.pid)
            return result
        finally:
            servers.stop()


def measure(runs: int = 2, rasa_alone: bool = True) -> Dict[str, object]:
    both: List[Dict[str, float]] = [one_start(True) for _ in range(runs)]
    result: Dict[str, object] = {
        "runs": both,
        "ready_s": max(r["ready_s"] for r in both),  # the worst of the fresh starts
        "ready_min_s": min(r["ready_s"] for r in both),
        "ready_to_first_reply_s": max(r["ready_to_first_reply_s"] for r in both),
    }
    if rasa_alone:
        alone = one_start(False)
        result["rasa_alone_ready_s"] = alone["ready_s"]
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(measure(runs=1), indent=1))
