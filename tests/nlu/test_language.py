"""LanguageDetector: evidence in, `language` entity out; no evidence, no entity."""
from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from tests.nlu.conftest import entities_of, message

CASES = [
    ("Здравствуйте, сколько стоит уборка?", "ru"),
    ("привет", "ru"),
    ("да", "ru"),
    ("я", "ru"),
    ("Hello, how much is a deep clean?", "en"),
    ("yes", "en"),
    ("no", "en"),
    ("I", "en"),
    ("хочу deep cleaning на завтра, пожалуйста", "ru"),  # mixed: most letters Cyrillic
    ("хочу deep cleaning", "en"),  # 4 Cyrillic letters vs 12 Latin
    ("need уборка tomorrow please", "en"),  # mixed: most letters are Latin
    ("ok", None),
    ("OK", None),
    ("ок", None),
    ("окей", None),
    ("+", None),
    ("👍", None),
    ("😀😀😀", None),
    ("89161234567", None),
    ("+7 916 123-45-67", None),
    ("15.03", None),
    ("ivan@example.com", None),
    ("ikea", None),  # Russian speakers write brand names in Latin
    ("60 м2", "ru"),
    ("10k", None),
    ("10к", "ru"),
    ("3pm", None),
    ("/start", None),  # a Telegram command is not English
    ('/inform{"service": "general_cleaning"}', None),
    ("", None),
    ("   ", None),
    # a name alone is the answer to "what is your name?", not a switch to Russian
    ("Дмитрий", None),
    ("Анна Петрова", None),
    ("Мария Ивановна.", None),
    ("дмитрий", "ru"),  # lower case: typed as a word, so it counts
    ("Москва", "ru"),  # a place is no name
    ("Спасибо", "ru"),
]


@pytest.fixture(scope="module")
def detector(make: Callable[..., Any]) -> Any:
    from msgops.nlu.language import LanguageDetector

    return make(LanguageDetector)


@pytest.mark.parametrize("text,expected", CASES, ids=[repr(c[0]) for c in CASES])
def test_language(detector: Any, text: str, expected: Optional[str]) -> None:
    (msg,) = detector.process([message(text)])
    found = entities_of(msg, "language")
    if expected is None:
        assert found == []
    else:
        assert [e["value"] for e in found] == [expected]
        e = found[0]
        assert e["extractor"] == "LanguageDetector"
        assert (e["start"], e["end"]) == (0, len(text))
        assert e["confidence_entity"] == 1.0


def test_keeps_other_entities_and_replaces_an_old_language(detector: Any) -> None:
    msg = message(
        "hello",
        entities=[
            {"entity": "service", "value": "x", "start": 0, "end": 5},
            {"entity": "language", "value": "ru", "start": 0, "end": 5},
        ],
    )
    detector.process([msg])
    assert [(e["entity"], e["value"]) for e in msg.get("entities")] == [
        ("service", "x"),
        ("language", "en"),
    ]
    assert "entities" in msg.as_dict(only_output_properties=True)
