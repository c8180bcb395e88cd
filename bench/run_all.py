"""All benchmarks of msgops, one after another, then one table and results/bench.json.

    .venv/bin/python -m bench.run_all                  # everything (training takes minutes)
    .venv/bin/python -m bench.run_all --skip-training  # the rest

Order: cold starts, latency (sequential, then 20 concurrent customers, then a burst without
pauses), NLU scores, training. Each part runs alone on the machine so they do not skew each
other; a part that fails is reported and the others still run (exit code 1).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from bench import cold_start, latency, nlu_scores, training
from bench.common import (
    machine,
    model_fingerprint,
    new_servers,
    other_rasa_trainings,
    rss_mb,
    wait_for_quiet,
    wait_no_training,
)
from msgops.harness import MODEL, ROOT

TARGETS = {"p95_ms": 150.0, "cold_start_s": 30.0, "training_s": 300.0, "intent_f1": 0.9}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-training", action="store_true", help="do not time `rasa train`")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-cold-start", action="store_true")
    p.add_argument("--skip-nlu", action="store_true")
    p.add_argument("--customers", type=int, default=20, help="concurrent customers (20)")
    p.add_argument("--messages", type=int, default=600, help="messages in the load run (600)")
    p.add_argument("--max-seconds", type=float, default=420, help="time limit of each load run")
    p.add_argument("--think", type=float, nargs=2, default=(2.0, 8.0), metavar=("MIN", "MAX"),
                   help="pause of a customer between messages, uniform in seconds (2 8)")
    p.add_argument("--burst-messages", type=int, default=200,
                   help="messages of the no-pause burst run for peak throughput; 0: skip")
    p.add_argument("--cold-starts", type=int, default=2, help="fresh starts to time (2)")
    p.add_argument("--what-if-cached-validation", action="store_true",
                   help="also run the latency part with Rasa validating action server "
                        "responses with a cached JSON-schema validator (bench/whatif)")
    p.add_argument("--timeout", type=float, default=30, help="per-request timeout, seconds")
    p.add_argument("--quiet-wait", type=float, default=300,
                   help="before each part, wait up to this many seconds for other jobs to "
                        "leave the CPUs idle (shared machines); 0: do not wait")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench.json")
    return p.parse_args(argv)


def run_part(name: str, results: Dict[str, Any], fn: Callable[[], Any],
             quiet_wait: float = 0) -> None:
    print(f"\n== {name} ...", flush=True)
    machine_before = wait_for_quiet(quiet_wait) if quiet_wait > 0 else {}
    if machine_before:
        print(f"   machine before: {machine_before}", flush=True)
    started = time.monotonic()
    try:
        results[name] = fn()
        if isinstance(results[name], dict):
            results[name]["machine_before"] = machine_before
            results[name]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        print(f"== {name}: done in {time.monotonic() - started:.0f} s", flush=True)
    except Exception as exc:  # noqa: BLE001 - report and go on with the other parts
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        print(f"== {name}: FAILED ({type(exc).__name__})", flush=True)


WHATIF = Path(__file__).resolve().parent / "whatif"


def latency_part(args: argparse.Namespace, what_if: bool = False) -> Dict[str, Any]:
    """`what_if`: the servers run with bench/whatif on PYTHONPATH (cached validation of
    action server responses), everything else identical."""
    extra_env: Dict[str, str] = {}
    if what_if:
        extra_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(WHATIF), os.environ.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="msgops-bench-") as tmp:
        work = Path(tmp)
        servers = new_servers(work, extra_env=extra_env)
        try:
            servers.start()
            out: Dict[str, Any] = {"ready_after_s": round(servers.ready_after, 2),
                                   "warm_up": latency.warm_up(servers, timeout=60)}
            print(f"   servers ready after {servers.ready_after:.1f} s; warm-up "
                  f"{out['warm_up']}", flush=True)
            out["sequential"] = latency.run_sequential(servers, timeout=args.timeout)
            _say("sequential (1 customer, no pauses)", out["sequential"])
            out["load"] = latency.run_load(servers, args.customers, args.messages,
                                           args.max_seconds, think=tuple(args.think),
                                           timeout=args.timeout)
            _say(f"load ({args.customers} customers, pauses {args.think[0]:g}-"
                 f"{args.think[1]:g} s)", out["load"])
            if args.burst_messages > 0:
                out["burst"] = latency.run_load(servers, args.customers, args.burst_messages,
                                                args.max_seconds, think=(0.0, 0.0),
                                                timeout=args.timeout, seed=11)
                _say(f"burst ({args.customers} customers, no pauses)", out["burst"])
            out["rss_mb"] = {name: rss_mb(p.pid) for name, p in
                             zip(("actions", "rasa"), servers.processes, strict=False)}
            out["tracker_db_mb"] = round((work / "tracker.db").stat().st_size / 2**20, 1) \
                if (work / "tracker.db").exists() else None
            return out
        finally:
            servers.stop()


def _say(label: str, r: Dict[str, Any]) -> None:
    print(f"   {label}: {r['messages']} msgs ({r['failed']} failed) in {r['wall_s']} s, "
          f"p50 {r['p50_ms']} / p95 {r['p95_ms']} / p99 {r['p99_ms']} / max {r['max_ms']} ms, "
          f"{r['throughput_msg_s']} msg/s", flush=True)


# ----------------------------------------------------------------------------- table


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:.3f}" if value < 1 and unit == "" else f"{value:g}"
    return f"{value}{(' ' + unit) if unit else ''}"


def _verdict(value: Optional[float], target: float, below: bool) -> str:
    if value is None:
        return "n/a"
    return "ok" if (value < target if below else value > target) else "MISSED"


def table_rows(results: Dict[str, Any]) -> List[Tuple[str, str, str, str]]:
    rows: List[Tuple[str, str, str, str]] = []
    lat = results.get("latency", {})
    if "error" in lat:
        rows.append(("latency", "FAILED", "", lat["error"][:60]))
    for phase, label in (("sequential", "1 customer"), ("load", "load"), ("burst", "burst")):
        r = lat.get(phase)
        if not r:
            continue
        desc = {"sequential": "1 customer, no pauses",
                "load": f"{r.get('customers')} customers, pauses "
                        f"{r['think'][0]:g}-{r['think'][1]:g} s",
                "burst": f"{r.get('customers')} customers, no pauses"}[phase]
        other = r.get("other_jobs_cpu_share")
        if other is not None:
            desc += f"; other jobs used {other:.0%} of the CPUs"
        rows.append((f"latency {label}: messages", f"{r['messages']} ({r['failed']} failed)",
                     "", desc))
        for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            target = f"< {TARGETS['p95_ms']:g} ms" if key == "p95_ms" else ""
            verdict = _verdict(r[key], TARGETS["p95_ms"], True) if key == "p95_ms" else ""
            rows.append((f"latency {label}: {key[:-3]}", _fmt(r[key], "ms"), target, verdict))
        rows.append((f"latency {label}: throughput", _fmt(r["throughput_msg_s"], "msg/s"), "",
                     ""))
        if "cpu_ms_per_msg_rasa" in r:
            rows.append((f"latency {label}: CPU per message",
                         f"Rasa {r['cpu_ms_per_msg_rasa']:g} ms, actions "
                         f"{r.get('cpu_ms_per_msg_actions', 0):g} ms", "",
                         f"lead scripts reaching call times "
                         f"{r.get('lead_scripts_reaching_call_times', '?')}"))
    what_if = results.get("latency_what_if", {})
    for phase in ("sequential", "load", "burst"):
        r = what_if.get(phase)
        if r:
            rows.append((f"what-if cached validation, {phase}: p50 / p95",
                         f"{_fmt(r['p50_ms'])} / {_fmt(r['p95_ms'], 'ms')}", "",
                         f"{r['throughput_msg_s']} msg/s"))
    if lat.get("warm_up"):
        rows.append(("first message after start", ", ".join(
            f"{k.split('_')[1]} {v:g} ms" for k, v in lat["warm_up"].items()), "", ""))
    cold = results.get("cold_start", {})
    if "error" in cold:
        rows.append(("cold start", "FAILED", "", cold["error"][:60]))
    elif cold:
        rows.append(("cold start: both servers ready (worst)", _fmt(cold["ready_s"], "s"),
                     f"< {TARGETS['cold_start_s']:g} s",
                     _verdict(cold["ready_s"], TARGETS["cold_start_s"], True)))
        rows.append(("cold start: best of runs", _fmt(cold["ready_min_s"], "s"), "", ""))
        if "rasa_alone_ready_s" in cold:
            rows.append(("cold start: Rasa server alone", _fmt(cold["rasa_alone_ready_s"], "s"),
                         "", ""))
        rows.append(("cold start: until the first reply", _fmt(cold["ready_to_first_reply_s"],
                                                                "s"), "", ""))
    train = results.get("training")
    if train:
        if "error" in train:
            rows.append(("training", "FAILED", "", train["error"][:60]))
        elif train.get("skipped"):
            rows.append(("training", "skipped", "", ""))
        else:
            rows.append(("training: rasa train --force", _fmt(train["seconds"], "s"),
                         f"< {TARGETS['training_s']:g} s",
                         _verdict(train["seconds"], TARGETS["training_s"], True)))
    nlu = results.get("nlu", {})
    if "error" in nlu:
        rows.append(("NLU", "FAILED", "", nlu["error"][:60]))
    for name, s in nlu.get("intents", {}).items():
        label = f"intent F1 {name[:-4]}" + ("" if s["main"] else " (separate)")
        if "micro_f1" not in s:
            rows.append((label, "n/a", "", f"no utterance with a known intent "
                                           f"({s['n_left_out']} left out)"))
            continue
        target = f"> {TARGETS['intent_f1']:g}" if s["main"] else ""
        verdict = _verdict(s["micro_f1"], TARGETS["intent_f1"], False) if s["main"] else ""
        rows.append((f"{label}: micro", _fmt(s["micro_f1"]), target,
                     f"{verdict} n={s['n']}, {s['n_left_out']} left out".strip()))
        rows.append((f"{label}: macro", _fmt(s["macro_f1"]), target,
                     (_verdict(s["macro_f1"], TARGETS["intent_f1"], False) if s["main"] else "")
                     + f" {len(s['labels_scored'])} intents"))
        rows.append((f"{label}: right and confident", _fmt(s["accuracy_above_fallback"]),
                     "", f"fallback rate {s['fallback_rate']:.3f}"))
    for lang, e in nlu.get("entities", {}).items():
        rows.append((f"entity F1 {lang} (bench/data, strict span)", _fmt(e["strict_f1"]), "",
                     f"n={e['examples_in_file']} utterances"))
        rows.append((f"entity F1 {lang} (overlap)", _fmt(e["lenient_f1"]), "",
                     " ".join(f"{t}={v['f1']:.2f}" for t, v in e["lenient_per_type"].items())))
    for name, why in nlu.get("skipped", {}).items():
        rows.append((f"NLU {name}", "skipped", "", why[:60]))
    return rows


def print_table(rows: List[Tuple[str, str, str, str]]) -> str:
    headers = ("figure", "value", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    text = "\n".join(lines)
    print("\n" + text)
    return text


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    results: Dict[str, Any] = {"machine": machine(), "targets": TARGETS,
                               "args": {k: (str(v) if isinstance(v, Path) else v)
                                        for k, v in vars(args).items()}}
    print(f"msgops benchmarks on {results['machine']['cores']} cores "
          f"({results['machine']['cpu']}), {results['machine']['date']}")
    busy = other_rasa_trainings()
    if busy:
        print(f"`rasa train` is running (pids {busy}): waiting up to {args.quiet_wait:g} s "
              "for it to finish (it may replace the model)", flush=True)
        busy = wait_no_training(args.quiet_wait)
    if busy:
        print(f"WARNING: `rasa train` is still running (pids {busy}); timings will be skewed")
        results["warning"] = f"rasa train running during the benchmark: {busy}"
    needs_model = not (args.skip_latency and args.skip_cold_start and args.skip_nlu)
    if needs_model and not MODEL.exists():
        print(f"no trained model at {MODEL}: run `make train` first")
        return 2
    results["model"] = model_fingerprint(MODEL)

    if not args.skip_cold_start:
        run_part("cold_start", results, lambda: cold_start.measure(runs=args.cold_starts),
                 args.quiet_wait)
    if not args.skip_latency:
        run_part("latency", results, lambda: latency_part(args), args.quiet_wait)
        if args.what_if_cached_validation:
            run_part("latency_what_if", results, lambda: latency_part(args, what_if=True),
                     args.quiet_wait)
    if not args.skip_nlu:
        run_part("nlu", results, nlu_scores.measure, args.quiet_wait)
    if args.skip_training:
        results["training"] = {"skipped": True}
    else:
        def timed_training() -> Dict[str, Any]:
            still = wait_no_training(args.quiet_wait)  # another training would halve the CPU
            out = training.measure()
            out["other_training_at_start"] = still
            return out

        run_part("training", results, timed_training, args.quiet_wait)

    results["table"] = print_table(table_rows(results)).splitlines()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwritten to {args.out}")
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
