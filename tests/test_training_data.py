"""Checks on the NLU training data in data/.

1. No training example equals an utterance of the held-out benchmark in ../shared/eval/*.yml
   (after normalisation), so the benchmark keeps measuring generalisation.
2. Every intent of the lead process has enough examples in each language.
3. No example is labelled with two different intents.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
NLU = DATA / "nlu"
EVAL = REPO / ".." / "shared" / "eval"

LANGUAGES = ("ru", "en")
LEAD_INTENTS = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "request_human",
    "stop",
    "ask_price",
    "inform",
)
MIN_EXAMPLES_PER_LANGUAGE = 25

# Rasa entity annotations: [text](entity), [text](entity:value), [text]{"entity": ...},
# and the role/group dict form. Only the annotated text is kept.
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]*)\](?:\([^)]*\)|\{[^}]*\})")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(lambda m: m.group("text"), text)


def normalise(text: str) -> str:
    """Lower-case, annotations reduced to their text, runs of non-word chars to one space."""
    text = strip_annotations(text).lower().replace("ё", "е")
    return _NON_WORD.sub(" ", text).strip()


def _examples_of(item: dict) -> List[str]:
    examples = item.get("examples")
    if examples is None:
        return []
    if isinstance(examples, str):
        lines = []
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                lines.append(line[2:].strip())
            elif line == "-":
                lines.append("")
        return lines
    # the long form: a list of {"text": ..., "metadata": ...}
    return [e["text"] if isinstance(e, dict) else str(e) for e in examples]


def iter_intent_examples(files: List[Path]) -> Iterator[Tuple[Path, str, str]]:
    """Yield (file, intent, example) for every intent example in the given YAML files."""
    for path in files:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in content.get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                for example in _examples_of(item):
                    yield path, str(item["intent"]), example


def training_files() -> List[Path]:
    files = sorted(p for p in DATA.rglob("*") if p.suffix in (".yml", ".yaml"))
    return [p for p in files if "nlu" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})]


def eval_utterances() -> Dict[str, str]:
    """Normalised benchmark utterance -> the file it is in."""
    if not EVAL.is_dir():
        pytest.skip(f"held-out benchmark folder {EVAL} is absent")
    found: Dict[str, str] = {}
    for path in sorted(EVAL.glob("*.yml")):
        for _, _, example in iter_intent_examples([path]):
            found.setdefault(normalise(example), path.name)
    return found


def test_training_data_is_found() -> None:
    examples = list(iter_intent_examples(training_files()))
    assert examples, f"no intent examples found under {DATA}"


def test_no_training_example_is_in_the_held_out_benchmark() -> None:
    benchmark = eval_utterances()
    leaks = []
    for path, intent, example in iter_intent_examples(training_files()):
        key = normalise(example)
        if key and key in benchmark:
            leaks.append(f"{path.relative_to(REPO)} [{intent}] {example!r} == {benchmark[key]}")
    assert not leaks, "training examples equal to held-out benchmark utterances:\n" + "\n".join(leaks)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_lead_intent_has_enough_examples(language: str) -> None:
    files = sorted((NLU / language).rglob("*.yml"))
    counts: Dict[str, int] = defaultdict(int)
    for _, intent, example in iter_intent_examples(files):
        if example.strip():
            counts[intent] += 1
    short = {
        intent: counts.get(intent, 0)
        for intent in LEAD_INTENTS
        if counts.get(intent, 0) < MIN_EXAMPLES_PER_LANGUAGE
    }
    assert not short, (
        f"intents with fewer than {MIN_EXAMPLES_PER_LANGUAGE} {language} examples "
        f"in {NLU / language}: {short}"
    )


def test_no_example_is_labelled_with_two_intents() -> None:
    labels: Dict[str, Set[str]] = defaultdict(set)
    where: Dict[str, List[str]] = defaultdict(list)
    for path, intent, example in iter_intent_examples(training_files()):
        key = normalise(example)
        labels[key].add(intent)
        where[key].append(f"{path.relative_to(REPO)} [{intent}] {example!r}")
    clashes = [" | ".join(where[key]) for key, intents in labels.items() if len(intents) > 1]
    assert not clashes, "examples labelled with more than one intent:\n" + "\n".join(clashes)


def test_no_example_is_repeated() -> None:
    seen: Dict[str, List[str]] = defaultdict(list)
    for path, intent, example in iter_intent_examples(training_files()):
        seen[normalise(example)].append(f"{path.relative_to(REPO)} [{intent}] {example!r}")
    repeated = [" | ".join(places) for places in seen.values() if len(places) > 1]
    assert not repeated, "examples written more than once:\n" + "\n".join(repeated)


def test_normalise() -> None:
    assert normalise('Сколько стоит [Генералку]{"entity": "service", "value": "x"}?!') == (
        "сколько стоит генералку"
    )
    assert normalise("I'm [Sarah](person),  ok") == "i m sarah ok"
    assert normalise("Ещё   раз...") == "еще раз"


QUOTE_INTENTS = ("request_quote",)
MIN_QUOTE_EXAMPLES = 30


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_quote_intent_has_enough_examples(language: str) -> None:
    counts: Dict[str, int] = defaultdict(int)
    for _, intent, example in iter_intent_examples(sorted((NLU / language).rglob("*.yml"))):
        if example.strip():
            counts[intent] += 1
    short = {i: counts.get(i, 0) for i in QUOTE_INTENTS if counts.get(i, 0) < MIN_QUOTE_EXAMPLES}
    assert not short, f"quote intents with fewer than {MIN_QUOTE_EXAMPLES} {language} examples: {short}"
