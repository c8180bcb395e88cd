"""InputGuard and LongMessageTrimmer through their Rasa API."""
from __future__ import annotations

from typing import Any, Callable, Optional

import pytest

from tests.nlu.conftest import entities_of, message

DIET_INTENT = {"name": "affirm", "confidence": 0.93}
DIET_RANKING = [DIET_INTENT, {"name": "deny", "confidence": 0.05}]


@pytest.fixture(scope="module")
def guard(make: Callable[..., Any]) -> Any:
    from msgops.nlu.guard import InputGuard

    return make(InputGuard, {"max_chars": 2000})


@pytest.fixture(scope="module")
def trimmer(make: Callable[..., Any]) -> Any:
    from msgops.nlu.truncate import LongMessageTrimmer

    return make(LongMessageTrimmer, {"max_chars": 2000})


def predicted(text: str) -> Any:
    """A message as it leaves DIET + our extractors: an intent and some entities."""
    return message(
        text,
        intent=dict(DIET_INTENT),
        intent_ranking=[dict(r) for r in DIET_RANKING],
        entities=[
            {"entity": "language", "value": "ru", "start": 0, "end": len(text)},
            {"entity": "service", "value": "general_cleaning", "start": 0, "end": 1},
        ],
    )


def issue_of(guard: Any, text: str) -> Optional[str]:
    (msg,) = guard.process([predicted(text)])
    issues = entities_of(msg, "input_issue")
    return issues[0]["value"] if issues else None


MUST_FLAG = [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("😀", "emoji"),
    ("👍👍👍", "emoji"),
    ("🙏 ❤️", "emoji"),
    ("!!!!", "emoji"),
    ("...???", "emoji"),
    ("ывапролдж", "gibberish"),
    ("asdkjhqwe", "gibberish"),
    ("ggggggg", "gibberish"),
    ("фывафыва", "gibberish"),
    ("qwerty", "gibberish"),
    ("asdfgh", "gibberish"),
    ("лорпывапр", "gibberish"),
    ("dfgdfgdfg", "gibberish"),
    ("щшгнекуцй", "gibberish"),
    ("zxcvbnm", "gibberish"),
    ("ааааааа", "gibberish"),
    ("sdfsdf sdfsdf", "gibberish"),
    ("йцукен фыва", "gibberish"),
]

MUST_NOT_FLAG = [
    "Ян", "Ли", "John", "ок", "да", "no", "+", "-", "?", "12", "60", "5000",
    "+7 916 123-45-67", "89161234567", "ivan@mail.ru", "15.03", "03/15", "15:00", "м2",
    "60 м2", "скока", "ищо", "хочу cleaning завтра", "привет", "пролог", "дааааа", "nooooo",
    "хахаха", "lalala", "hmm", "ммм", "ok", "ok 👍", "👍 да", "zdravstvuyte",
    "skolko stoit uborka", "Зульфия", "Айгерим", "strengths", "пжлст", "спс", "thx",
    "Shchyolkovo", "Долгопрудный", "ЮЗАО", "мкад", "контрстрайк",
    "Здравствуйте, сколько стоит генеральная уборка 60 м2?",
    "I need deep cleaning for my flat tomorrow at 3pm",
    "http://example.com/xyz",
]


@pytest.mark.parametrize("text,issue", MUST_FLAG, ids=[repr(c[0]) for c in MUST_FLAG])
def test_flags(guard: Any, text: str, issue: str) -> None:
    (msg,) = guard.process([predicted(text)])
    assert msg.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert msg.get("intent_ranking") == [{"name": "nlu_fallback", "confidence": 1.0}]
    kept = [] if issue == "gibberish" else [("language", "ru")]
    # the language survives (the answer comes in the right one), except that a mash is no
    # evidence of any language
    assert [(e["entity"], e["value"]) for e in entities_of(msg)] == kept + [
        ("input_issue", issue),
    ]
    (ie,) = entities_of(msg, "input_issue")
    assert ie["extractor"] == "InputGuard" and ie["confidence_entity"] == 1.0
    out = msg.as_dict(only_output_properties=True)
    assert out["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize("text", MUST_NOT_FLAG)
def test_does_not_flag(guard: Any, text: str) -> None:
    (msg,) = guard.process([predicted(text)])
    assert entities_of(msg, "input_issue") == []
    assert msg.get("intent") == DIET_INTENT
    assert msg.get("intent_ranking") == DIET_RANKING
    assert len(entities_of(msg)) == 2


def test_language_next_to_a_mash_comes_from_the_real_words(guard: Any) -> None:
    msg = predicted("привет ывапролдж фывафыва")
    msg.set("entities", [{"entity": "language", "value": "en", "start": 0, "end": 5}])
    (msg,) = guard.process([msg])
    assert [(e["entity"], e["value"]) for e in entities_of(msg)] == [
        ("language", "ru"),
        ("input_issue", "gibberish"),
    ]


def test_too_long_without_trimmer(guard: Any) -> None:
    assert issue_of(guard, "уборка " * 400) == "too_long"
    assert issue_of(guard, "у" * 2000) != "too_long"


def test_trimmer_then_guard_reports_too_long_and_restores_text(
    trimmer: Any, guard: Any
) -> None:
    from msgops.nlu.truncate import ORIGINAL_LENGTH

    long_text = "Здравствуйте, нужна уборка квартиры после ремонта. " * 200  # ~10,000 chars
    assert len(long_text) > 9000
    (msg,) = trimmer.process([message(long_text)])
    seen = msg.get("text")
    assert len(seen) <= 2000 and long_text.startswith(seen)  # a prefix: offsets stay valid
    assert not seen.endswith("Здравст")  # cut at a word boundary
    assert msg.get(ORIGINAL_LENGTH) == len(long_text)
    assert msg.as_dict(only_output_properties=True)[ORIGINAL_LENGTH] == len(long_text)

    msg.set("intent", dict(DIET_INTENT), add_to_output=True)
    (msg,) = guard.process([msg])
    assert entities_of(msg, "input_issue")[0]["value"] == "too_long"
    assert msg.get("intent")["name"] == "nlu_fallback"
    # the parse result carries the customer's full text again
    assert msg.get("text") == long_text


def test_trimmer_leaves_short_messages_alone(trimmer: Any) -> None:
    from msgops.nlu.truncate import ORIGINAL_LENGTH, ORIGINAL_TEXT

    (msg,) = trimmer.process([message("привет")])
    assert msg.get("text") == "привет"
    assert msg.get(ORIGINAL_LENGTH) == 6
    assert msg.get(ORIGINAL_TEXT) is None


def test_trimmer_trims_training_data_the_same_way(trimmer: Any) -> None:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    ex = message("а " * 3000, intent="inform")
    td = trimmer.process_training_data(TrainingData([ex]))
    assert len(td.training_examples[0].get("text")) <= 2000


def test_trim_text_without_spaces() -> None:
    from msgops.nlu.truncate import trim_text

    assert trim_text("x" * 5000, 2000) == "x" * 2000
    assert trim_text("short", 2000) == "short"
