"""Per-message cost of msgops's own NLU components, without a trained model.

Why: the whole turn must be answered well under 150 ms p95, and DIET, the featurizers and
the action call take most of that budget. This measures what our components add on top:
StructuredEntityExtractor + InputGuard (the headline figure), and also the full set of our
components (trimmer, lemmatizing tokenizer, language, extractor, guard).

200 mixed sentences (ru/en, dates, phones, money, names, plain questions, mash, emoji,
one 10,000-character paste) are built deterministically from templates. Libraries are
loaded by the components' ``create`` before timing, as at model load in production.
Templates repeat fragments, which flatters the per-word caches (lemmas, pymorphy name
tags, natasha fragments), so the "cold" rows clear those caches before every message:
the honest upper bound for text never seen before.

Run: ``.venv/bin/python -m bench.nlu_components`` (or ``.venv/bin/python bench/nlu_components.py``).
"""
from __future__ import annotations

import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TEMPLATES_RU = [
    "Здравствуйте, сколько стоит генеральная уборка квартиры {area} м2?",
    "Можно {when}?",
    "Мой телефон {phone}, звоните {when}",
    "бюджет {money}",
    "Меня зовут {name}",
    "{name}, {phone}",
    "хочу уборку после ремонта в {place} {when}, бюджет {money}",
    "да",
    "ок",
    "нет, лучше {when}",
    "а сколько будет стоить мойка {n} окон?",
    "почта {email}",
    "скока стоит химчистка дивана",
    "ывапролдж",
    "👍",
    "позвоните мне {when}, номер {phone}",
    "Нужен мастер на час, {when}",
    "Спасибо, до свидания!",
]
TEMPLATES_EN = [
    "Hi, how much is a deep clean for a {area} m2 flat?",
    "Can you come {when_en}?",
    "My number is {phone}, call me {when_en}",
    "My budget is {money_en}",
    "I'm {name_en}, email {email}",
    "yes",
    "no thanks",
    "asdkjhqwe",
    "need window cleaning {when_en}, {n} windows",
    "ok",
    "Do you work in Khimki?",
    "Thanks, bye!",
]
FILL = {
    "area": ["45", "60", "72", "100"],
    "n": ["3", "5", "8", "12"],
    "when": ["завтра в 15:00", "в пятницу после обеда", "послезавтра утром", "на выходных",
             "в следующую среду с 10 до 12", "15 декабря в 11", "через 2 часа", "в 3 часа дня",
             "в четверг после 15", "на следующей неделе", "20.12 к 10"],
    "when_en": ["tomorrow at 3pm", "next Friday morning", "this weekend", "on Monday at 10am",
                "between 2 and 4pm tomorrow", "December 5th", "in 3 days", "any morning next week"],
    "phone": ["+7 916 123-45-67", "8 (903) 555 12 34", "89161234567", "+7 (495) 987-65-43"],
    "money": ["5000 руб", "до 10к", "7 тыс", "15 000 рублей", "около 3 тыс. р."],
    "money_en": ["$200", "200 dollars", "€150", "5000 rub"],
    "name": ["Иван Петров", "Анна", "Ян", "Мария Иванова", "Ли"],
    "name_en": ["John", "Emily Clark", "Ian"],
    "email": ["ivan@example.com", "Anna.K@Mail.ru", "john.doe+home@gmail.com"],
    "place": ["Химках", "Москве", "Митино", "Балашихе"],
}


def sentences(count: int = 200, seed: int = 7) -> List[str]:
    """Deterministic mixed sentences, about 60 % Russian, with one very long paste."""
    rng = random.Random(seed)
    out: List[str] = []
    while len(out) < count - 1:
        tpl = rng.choice(TEMPLATES_RU if rng.random() < 0.6 else TEMPLATES_EN)
        out.append(tpl.format(**{k: rng.choice(v) for k, v in FILL.items()}))
    out.append("Здравствуйте, у нас большая квартира и много вопросов. " * 180)  # ~10,000 chars
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, as in bench/common.py."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def build() -> Dict[str, Any]:
    import tempfile

    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from msgops.nlu.extractors import StructuredEntityExtractor
    from msgops.nlu.guard import InputGuard
    from msgops.nlu.language import LanguageDetector
    from msgops.nlu.tokenizer import LemmatizingTokenizer
    from msgops.nlu.truncate import LongMessageTrimmer

    storage = LocalModelStorage(Path(tempfile.mkdtemp(prefix="msgops-bench-")))
    ctx = ExecutionContext(GraphSchema({}), "bench")

    def make(cls: Any, **config: Any) -> Any:
        full = {**cls.get_default_config(), **config}
        return cls.create(full, storage, Resource(cls.__name__), ctx)

    return {
        "trimmer": make(LongMessageTrimmer, max_chars=2000),
        "tokenizer": make(LemmatizingTokenizer),
        "language": make(LanguageDetector),
        "extractor": make(StructuredEntityExtractor, timezone="Europe/Moscow",
                          phone_region="RU", default_currency="RUB"),
        "guard": make(InputGuard, max_chars=2000),
    }


def time_per_message(
    texts: List[str], steps: List[Any], prepare: Callable[[Any], None]
) -> List[float]:
    from rasa.shared.nlu.training_data.message import Message

    times = []
    for text in texts:
        msg = Message(data={"text": text})
        prepare(msg)
        t0 = time.perf_counter()
        for step in steps:
            step.process([msg])
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    t0 = time.perf_counter()
    c = build()
    load_s = time.perf_counter() - t0
    texts = sentences()

    def trimmed(msg: Any) -> None:
        # the extractor and guard see what they see in the pipeline: trimmed text
        c["trimmer"].process([msg])

    from msgops.nlu import extractors, tokenizer

    def cold(msg: Any) -> None:
        # forget every per-word/per-fragment cache: each message pays full price
        extractors._natasha_names.cache_clear()
        extractors._name_tags.cache_clear()
        tokenizer.lemma_of.cache_clear()

    def trimmed_cold(msg: Any) -> None:
        cold(msg)
        trimmed(msg)

    everything = [c["trimmer"], c["tokenizer"], c["language"], c["extractor"], c["guard"]]
    runs = {
        "extractor+guard": time_per_message(texts, [c["extractor"], c["guard"]], trimmed),
        "all msgops components": time_per_message(texts, everything, lambda m: None),
        "extractor+guard, cold": time_per_message(
            texts, [c["extractor"], c["guard"]], trimmed_cold
        ),
        "all msgops, cold": time_per_message(texts, everything, cold),
    }
    print(f"messages: {len(texts)}  (component load incl. pymorphy3/natasha/dateparser: "
          f"{load_s:.1f} s, once per process)")
    for name, secs in runs.items():
        ms = [s * 1000 for s in secs]
        print(f"{name:>22}: p50 {percentile(ms, 50):6.2f} ms   p95 {percentile(ms, 95):6.2f} ms"
              f"   max {max(ms):6.2f} ms   mean {statistics.mean(ms):6.2f} ms")


if __name__ == "__main__":
    main()
