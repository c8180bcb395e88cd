"""LemmatizingTokenizer: Russian forms share a lemma, offsets and text stay as written."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.nlu.conftest import message


@pytest.fixture(scope="module")
def tokenizer(make: Callable[..., Any]) -> Any:
    from msgops.nlu.tokenizer import LemmatizingTokenizer

    return make(LemmatizingTokenizer)


def lemmas(tokenizer: Any, text: str) -> list:
    (msg,) = tokenizer.process([message(text)])
    return [(t.text, t.lemma) for t in msg.get("text_tokens")]


def test_russian_forms_share_a_lemma(tokenizer: Any) -> None:
    a = dict(lemmas(tokenizer, "нужна уборка"))
    b = dict(lemmas(tokenizer, "закажу уборку"))
    c = dict(lemmas(tokenizer, "стоимость уборки"))
    assert a["уборка"] == b["уборку"] == c["уборки"] == "уборка"


def test_case_and_yo_are_normalised(tokenizer: Any) -> None:
    assert dict(lemmas(tokenizer, "Уборку ЕЩЁ"))["Уборку"] == "уборка"
    assert dict(lemmas(tokenizer, "Уборку ЕЩЁ"))["ЕЩЁ"] == "еще"


def test_latin_and_numbers_are_lower_cased(tokenizer: Any) -> None:
    assert lemmas(tokenizer, "Deep Cleaning 60 м2") == [
        ("Deep", "deep"),
        ("Cleaning", "cleaning"),
        ("60", "60"),
        ("м2", "м2"),
    ]


def test_offsets_are_those_of_whitespace_tokenizer(make: Callable[..., Any]) -> None:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    text = "Хочу уборку квартиры, завтра в 15:00!"
    plain = make(WhitespaceTokenizer).process([message(text)])[0].get("text_tokens")
    ours = make(
        __import__("msgops.nlu.tokenizer", fromlist=["x"]).LemmatizingTokenizer
    ).process([message(text)])[0].get("text_tokens")
    assert [(t.text, t.start, t.end) for t in ours] == [(t.text, t.start, t.end) for t in plain]


def test_morph_analyzer_is_one_per_process_and_not_built_at_import() -> None:
    import importlib

    import msgops.nlu.tokenizer as tok

    importlib.reload(tok)  # re-runs the module body, as a fresh import would
    assert tok._morph is None
    morph = tok.get_morph()
    assert tok.get_morph() is morph
