"""Training time: a full `rasa train` of the project into a temporary folder.

Runs the same command as `make train` (2 threads) but with --force, its own empty Rasa
cache and a temporary output folder, so nothing is reused from earlier trainings and
models/msgops.tar.gz is never touched.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Dict

from bench.common import RASA, bench_env, other_rasa_trainings, run_bounded, tail


def measure(timeout: float = 1200.0) -> Dict[str, object]:
    busy = other_rasa_trainings()
    with tempfile.TemporaryDirectory(prefix="msgops-train-") as tmp:
        out = Path(tmp) / "models"
        log = Path(tmp) / "train.log"
        args = [RASA, "train", "--fixed-model-name", "bench", "--out", str(out), "--force",
                "--num-threads", "2"]
        env = bench_env(RASA_CACHE_DIRECTORY=str(Path(tmp) / "cache"))
        started = time.monotonic()
        done = run_bounded(args, log, timeout=timeout, env=env)
        seconds = time.monotonic() - started
        model = out / "bench.tar.gz"
        if done.returncode != 0 or not model.exists():
            raise RuntimeError(f"rasa train failed (rc {done.returncode}):\n{tail(log)}")
        return {
            "seconds": round(seconds, 1),
            "model_mb": round(model.stat().st_size / 1024 / 1024, 1),
            "command": " ".join(["rasa"] + args[1:4] + ["<tmp>"] + args[5:]),
            "other_training_running_at_start": busy,
        }


if __name__ == "__main__":
    print(measure())
