"""NLU scores per language with `rasa test nlu` on held-out data.

Intents, on the public benchmark in ../shared/eval (see its README):
``rasa test nlu --nlu <file> --model models/msgops.tar.gz --out <tmp> --successes``, then the
F1 is computed here from every prediction (intent_successes.json + intent_errors.json),
ONLY over utterances whose label is an intent the model has (read from the model's domain).
The other utterances are left out of the score; how the model answered them (out_of_scope,
or a confidence under the FallbackClassifier threshold) is reported beside it.

- micro F1: over all the model's intents, so a wrong guess counts against the intent it
  landed on (precision) and the one it missed (recall); equals accuracy when every
  prediction is one of the model's intents, which it is (rasa test undoes nlu_fallback and
  reports the classifier's own top intent);
- macro F1: the mean F1 of the intents that have utterances in the file;
- accuracy above fallback: the share predicted right AND with a confidence at or over the
  FallbackClassifier threshold (under it the customer hears "sorry, I did not get that");
  fallback rate: the share under the threshold.

Entities, on bench/data/entities_{ru,en}.yml (hand-labelled, written for the benchmark):
span-level F1 per type over the entities the bot finally has, whichever extractor found them
(DIET: service, location, English person; StructuredEntityExtractor: time, phone, email,
budget, Russian person). "strict" needs the exact span, "lenient" any overlap of the same
type. Rasa's own token-level report (<extractor>_report.json) is kept too, but it scores each
extractor against *all* annotations, so it is restricted here to the types each extractor
produces.
"""
from __future__ import annotations

import json
import tarfile
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import yaml

from bench.common import RASA, bench_env, run_bounded, tail
from msgops.harness import MODEL, ROOT

EVAL_DIR = (ROOT / ".." / "shared" / "eval").resolve()
ENTITY_DIR = Path(__file__).resolve().parent / "data"
INTENT_FILES = {  # file -> (language, main score?)
    "en_real.yml": ("en", True),
    "ru_real.yml": ("ru", True),
    "en_synthetic.yml": ("en", False),
    "ru_machine_translated.yml": ("ru", False),
}
ENTITY_TYPES = ("person", "location", "service", "time", "phone", "email", "budget")
EXTRACTOR_TYPES = {  # what each extractor is meant to produce
    "DIETClassifier": {"person", "location", "service"},
    "StructuredEntityExtractor": {"time", "phone", "email", "budget", "person"},
}


# ----------------------------------------------------------------------------- running


def rasa_test_nlu(nlu_file: Path, out: Path, model: Path = MODEL,
                  timeout: float = 900.0) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    log = out / "rasa_test.log"
    args = [RASA, "test", "nlu", "--nlu", str(nlu_file), "--model", str(model),
            "--out", str(out), "--successes", "--no-plot"]
    done = run_bounded(args, log, timeout=timeout, env=bench_env())
    if done.returncode != 0:
        raise RuntimeError(f"rasa test nlu {nlu_file.name} failed:\n{tail(log)}")
    return out


def model_domain(model: Path = MODEL) -> Dict[str, Any]:
    """The domain inside the model archive (what the model really knows), or domain.yml."""
    try:
        with tarfile.open(model) as archive:
            for member in archive.getmembers():
                if member.name.endswith("domain.yml") and member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return yaml.safe_load(handle.read().decode("utf-8"))
    except (OSError, tarfile.TarError):
        pass
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def model_intents(model: Path = MODEL) -> Set[str]:
    names = set()
    for item in model_domain(model).get("intents", []):
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return {n for n in names if not n.startswith("EXTERNAL_") and n != "nlu_fallback"}


def fallback_threshold() -> float:
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return 0.0


def _load_json(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _count_examples(nlu_file: Path) -> int:
    data = yaml.safe_load(nlu_file.read_text(encoding="utf-8"))
    return sum(len([ln for ln in str(block.get("examples", "")).splitlines()
                    if ln.strip().startswith("- ")])
               for block in data.get("nlu", []) if "intent" in block)


# ----------------------------------------------------------------------------- intents


def _f1(tp: int, fp: int, fn: int) -> float:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def intent_scores(rows: List[Dict[str, Any]], known: Set[str],
                  threshold: float) -> Dict[str, Any]:
    kept = [(r["intent"], r["intent_prediction"]["name"],
             r["intent_prediction"].get("confidence") or 0.0)
            for r in rows if r["intent"] in known]
    left_out = [r for r in rows if r["intent"] not in known]
    result: Dict[str, Any] = {"n": len(kept), "n_left_out": len(left_out),
                              "labels_scored": sorted({g for g, _, _ in kept}),
                              "labels_left_out": sorted({r["intent"] for r in left_out})}
    if left_out:
        oos = sum(1 for r in left_out if r["intent_prediction"]["name"] == "out_of_scope")
        low = sum(1 for r in left_out
                  if r["intent_prediction"]["name"] != "out_of_scope"
                  and (r["intent_prediction"].get("confidence") or 0.0) < threshold)
        result["left_out_handled"] = {"out_of_scope": round(oos / len(left_out), 3),
                                      "fallback": round(low / len(left_out), 3),
                                      "predicted_as": dict(Counter(
                                          r["intent_prediction"]["name"] for r in left_out
                                      ).most_common(5))}
    if not kept:
        return result

    def micro(pairs: Iterable[Tuple[str, str]]) -> float:
        tp = fp = fn = 0
        for gold, pred in pairs:
            if gold == pred:
                tp += 1
            else:
                fn += 1
                fp += pred in known
        return _f1(tp, fp, fn)

    per: Dict[str, Dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "n": 0})
    for gold, pred, _ in kept:
        per[gold]["n"] += 1
        if gold == pred:
            per[gold]["tp"] += 1
        else:
            per[gold]["fn"] += 1
            if pred in known:
                per[pred]["fp"] += 1
    gold_labels = sorted({g for g, _, _ in kept})
    per_f1 = {label: round(_f1(per[label]["tp"], per[label]["fp"], per[label]["fn"]), 3)
              for label in gold_labels}
    confusions = Counter((g, p) for g, p, _ in kept if g != p).most_common(6)
    result.update({
        "micro_f1": round(micro((g, p) for g, p, _ in kept), 3),
        "macro_f1": round(sum(per_f1.values()) / len(per_f1), 3),
        "accuracy": round(sum(1 for g, p, _ in kept if g == p) / len(kept), 3),
        "accuracy_above_fallback": round(
            sum(1 for g, p, c in kept if g == p and c >= threshold) / len(kept), 3),
        "fallback_rate": round(sum(1 for _, _, c in kept if c < threshold) / len(kept), 3),
        "per_intent_f1": per_f1,
        "per_intent_n": {label: per[label]["n"] for label in gold_labels},
        "top_confusions": [f"{g} -> {p}: {n}" for (g, p), n in confusions],
    })
    return result


# ----------------------------------------------------------------------------- entities


Span = Tuple[str, int, int]


def _spans(entities: Iterable[Dict[str, Any]]) -> Set[Span]:
    return {(e["entity"], int(e["start"]), int(e["end"])) for e in entities
            if e.get("entity") in ENTITY_TYPES}


def entity_predictions(out: Path) -> Dict[str, Tuple[Set[Span], Set[Span]]]:
    """text -> (gold spans, predicted spans of all extractors), from rasa's per-extractor
    successes and errors files (between them they list every example with an entity)."""
    found: Dict[str, Tuple[Set[Span], Set[Span]]] = {}
    for path in sorted(out.glob("*.json")):
        if not (path.name.endswith("_successes.json") or path.name.endswith("_errors.json")):
            continue
        if path.name.startswith(("intent_", "response_selection_")):
            continue
        for row in _load_json(path):
            if isinstance(row, dict) and "predicted_entities" in row:
                found[row["text"]] = (_spans(row.get("entities", [])),
                                      _spans(row.get("predicted_entities", [])))
    return found


def _match(gold: Set[Span], pred: Set[Span], lenient: bool) -> Tuple[int, int, int]:
    if not lenient:
        tp = len(gold & pred)
        return tp, len(pred) - tp, len(gold) - tp
    free = sorted(pred)
    tp = 0
    for g_type, g_start, g_end in sorted(gold):
        for i, (p_type, p_start, p_end) in enumerate(free):
            if p_type == g_type and p_start < g_end and g_start < p_end:
                tp += 1
                del free[i]
                break
    return tp, len(free), len(gold) - tp


def entity_scores(found: Dict[str, Tuple[Set[Span], Set[Span]]]) -> Dict[str, Any]:
    counts = {mode: {t: [0, 0, 0] for t in ENTITY_TYPES} for mode in ("strict", "lenient")}
    misses: List[str] = []
    for text, (gold, pred) in found.items():
        for mode in counts:
            for etype in ENTITY_TYPES:
                g = {s for s in gold if s[0] == etype}
                p = {s for s in pred if s[0] == etype}
                tp, fp, fn = _match(g, p, mode == "lenient")
                c = counts[mode][etype]
                c[0] += tp
                c[1] += fp
                c[2] += fn
        if gold != pred and len(misses) < 12:
            missed = [f"{t}:{text[s:e]!r}" for t, s, e in sorted(gold - pred)]
            extra = [f"{t}:{text[s:e]!r}" for t, s, e in sorted(pred - gold)]
            misses.append(f"{_short(text)} | missed {missed} | extra {extra}")
    result: Dict[str, Any] = {"examples_with_predictions": len(found), "examples_of_errors": misses}
    for mode, per_type in counts.items():
        tp = sum(c[0] for c in per_type.values())
        fp = sum(c[1] for c in per_type.values())
        fn = sum(c[2] for c in per_type.values())
        result[f"{mode}_f1"] = round(_f1(tp, fp, fn), 3)
        result[f"{mode}_per_type"] = {
            t: {"f1": round(_f1(*c), 3), "gold": c[0] + c[2], "predicted": c[0] + c[1]}
            for t, c in per_type.items() if c[0] + c[1] + c[2]}
    return result


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def rasa_entity_reports(out: Path) -> Dict[str, Dict[str, Any]]:
    """Rasa's token-level F1 per extractor, over the types that extractor produces."""
    reports = {}
    for extractor, types in EXTRACTOR_TYPES.items():
        path = out / f"{extractor}_report.json"
        if not path.exists():
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        per = {t: round(report[t]["f1-score"], 3) for t in sorted(types) if t in report}
        support = {t: report[t]["support"] for t in per}
        total = sum(support.values())
        weighted = sum(per[t] * support[t] for t in per) / total if total else None
        reports[extractor] = {"per_type_f1": per, "support": support,
                              "weighted_f1_own_types": round(weighted, 3) if weighted else None,
                              "rasa_micro_avg_f1_all_annotations": round(
                                  report.get("micro avg", {}).get("f1-score", 0.0), 3)}
    return reports


# ----------------------------------------------------------------------------- together


def measure(model: Path = MODEL, workers: int = 2, keep: Optional[Path] = None) -> Dict[str, Any]:
    """Runs every rasa test (two at a time) and scores them. `keep`: copy outputs there."""
    known = model_intents(model)
    threshold = fallback_threshold()
    jobs: Dict[str, Path] = {}
    skipped: Dict[str, str] = {}
    if EVAL_DIR.is_dir():
        for name in INTENT_FILES:
            if (EVAL_DIR / name).exists():
                jobs[name] = EVAL_DIR / name
            else:
                skipped[name] = "file missing"
    else:
        skipped["../shared/eval"] = f"{EVAL_DIR} not found: public benchmark skipped"
    for lang in ("ru", "en"):
        jobs[f"entities_{lang}.yml"] = ENTITY_DIR / f"entities_{lang}.yml"

    result: Dict[str, Any] = {"model_intents": sorted(known), "fallback_threshold": threshold,
                              "intents": {}, "entities": {}, "skipped": skipped}
    with tempfile.TemporaryDirectory(prefix="msgops-nlu-") as tmp:
        outs = {name: Path(tmp) / Path(name).stem for name in jobs}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {name: pool.submit(rasa_test_nlu, path, outs[name], model)
                       for name, path in jobs.items()}
            for name, future in futures.items():
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - one failing file must not hide the rest
                    skipped[name] = f"rasa test failed: {exc}"[:600]
        for name in jobs:
            if name in skipped:
                continue
            out = outs[name]
            rows = (_load_json(out / "intent_successes.json")
                    + _load_json(out / "intent_errors.json"))
            expected = _count_examples(jobs[name])
            scores = intent_scores(rows, known, threshold)
            scores["examples_in_file"] = expected
            scores["predictions_read"] = len(rows)
            if name.startswith("entities_"):
                lang = name[len("entities_"):-len(".yml")]
                found = entity_predictions(out)
                entity = entity_scores(found)
                entity["examples_in_file"] = expected
                entity["rasa_token_level"] = rasa_entity_reports(out)
                entity["intents_of_this_set"] = {k: scores.get(k) for k in
                                                 ("n", "micro_f1", "macro_f1")}
                result["entities"][lang] = entity
            else:
                lang, main = INTENT_FILES[name]
                result["intents"][name] = {"lang": lang, "main": main, **scores}
        if keep is not None:
            import shutil

            shutil.copytree(tmp, keep, dirs_exist_ok=True)
    return result


if __name__ == "__main__":
    print(json.dumps(measure(), ensure_ascii=False, indent=1))
