"""Small helpers shared by the benchmarks: percentiles, bounded subprocesses, machine facts."""
from __future__ import annotations

import math
import os
import platform
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from msgops.harness import BIN, ROOT, LocalServers, wait_until_up, write_business_file

RASA = str(BIN / "rasa")


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100) of the values, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50/p95/p99/max/mean in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms) if ms else None),
        "mean_ms": _round(sum(ms) / len(ms) if ms else None),
    }


def _round(value: Optional[float], digits: int = 1) -> Optional[float]:
    return None if value is None else round(value, digits)


def bench_env(**extra: str) -> Dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", **extra}


def run_bounded(args: List[str], log: Path, timeout: float, env: Optional[Dict[str, str]] = None,
                cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command with its output in `log`; the whole process group is killed after
    `timeout` seconds (rasa spawns helpers), and TimeoutError is raised."""
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=cwd, env=env or bench_env(), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise TimeoutError(f"{' '.join(args[:4])} ... took more than {timeout:.0f} s "
                               f"(log: {log})") from None
        except BaseException:
            _kill_group(process)
            raise
    return subprocess.CompletedProcess(args, rc)


def _kill_group(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def other_rasa_trainings() -> List[int]:
    """PIDs of `rasa train` processes running on this machine (they would skew timings)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [c.decode(errors="replace") for c in cmd if c]
        if any(w.endswith("rasa") for w in words) and "train" in words:
            pids.append(int(entry.name))
    return pids


def wait_no_training(max_wait: float) -> List[int]:
    """Wait (at most `max_wait` s) until no `rasa train` runs; the PIDs still running."""
    deadline = time.monotonic() + max(max_wait, 0)
    busy = other_rasa_trainings()
    while busy and time.monotonic() < deadline:
        time.sleep(5)
        busy = other_rasa_trainings()
    return busy


def model_fingerprint(path: Path) -> Dict[str, object]:
    import hashlib

    if not path.exists():
        return {"path": str(path), "exists": False}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return {"path": str(path), "sha256_12": digest, "mb": round(path.stat().st_size / 2**20, 1),
            "modified": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(path.stat().st_mtime))}


def rss_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def machine() -> Dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        import rasa

        rasa_version = rasa.__version__
    except Exception:  # noqa: BLE001
        rasa_version = "?"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "rasa": rasa_version,
        "platform": platform.platform(),
    }


def machine_cpu() -> Tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / tick, total / tick


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of all cores busy (0..1) over `seconds`, from /proc/stat."""
    def sample() -> Tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return idle, sum(fields[:8])

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    total = total1 - total0
    return 1 - (idle1 - idle0) / total if total > 0 else 0.0


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> Dict[str, float]:
    """Wait (at most `max_wait` s) until other work leaves the CPUs mostly idle, so timings
    are not skewed by other jobs; returns how long it waited and the last busy share."""
    started = time.monotonic()
    busy = cpu_busy()
    while busy > threshold and time.monotonic() - started < max_wait:
        time.sleep(3)
        busy = cpu_busy()
    return {"waited_s": round(time.monotonic() - started, 1), "cpu_busy_before": round(busy, 2),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU time of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class BenchServers(LocalServers):
    """LocalServers with a longer wait for start-up (a busy 2-core machine can take over
    the harness's 180 s); `ready_after` is measured exactly as LocalServers does."""

    up_timeout: float = 600.0

    def start(self, with_actions: bool = True) -> BenchServers:
        self._write_config()
        self.started_at = time.monotonic()
        actions = self.start_actions() if with_actions else None
        rasa = self.start_rasa()
        if actions:
            wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", actions,
                          self.workdir / "actions.log", seconds=self.up_timeout)
        wait_until_up(f"{self.rasa_url}/status?token={self.token}", rasa,
                      self.workdir / "rasa.log", seconds=self.up_timeout)
        self.ready_after = time.monotonic() - self.started_at
        return self


def new_servers(workdir: Path, **kwargs: object) -> BenchServers:
    """Servers in `workdir` with an SQLite store there and the default business profile."""
    return BenchServers(workdir, f"sqlite:///{workdir / 'msgops.db'}",
                        write_business_file(workdir), **kwargs)
