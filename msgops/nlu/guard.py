"""Recognise input that cannot be understood, so the bot answers it plainly and changes nothing.

Why a separate component after DIET and FallbackClassifier: DIET always picks *some*
intent, and a keyboard mash or an emoji can land on ``affirm`` with high confidence. The
guard overrides the prediction with ``nlu_fallback`` (confidence 1.0), leaves only the
``language`` entity (a mash must not fill slots; and for gibberish only if the real words
around the mash show the language: "asdkjhqwe" typed in the Latin layout by a Russian
speaker must not switch the bot to English), and adds ``input_issue`` =
``empty | emoji | gibberish | too_long`` so the response can say what went wrong
("please write in words", "the message is too long, the first part was...").

What it must not flag: the short real answers a form collects — names ("Ян", "Ли",
"John"), "ок", "да", "no", "+", numbers, phones, e-mails, dates, "м2", Russian words
with typos ("скока", "ищо"), transliteration, mixed ru/en. So a word is only called
gibberish on positive evidence of mashing:

* one letter repeated ("ggggggg"), or a short chunk repeated ("dfgdfgdfg");
* a run of consonants no real word has (6+ in Latin, 7+ in Cyrillic, where
  "контрстрайк" has 6);
* no vowels at all in a word of 5+ letters (6+ in Cyrillic: "пжлст" is shorthand);
* most neighbouring letters are neighbours on the keyboard row ("ывапролдж", "asdfgh",
  "qwerty"), which is what a hand sliding across the keyboard produces.

Cyrillic words that pymorphy3 knows (``word_is_known``) are never gibberish ("пролог" is
all home row). Words under 4 letters are never judged. The message is gibberish when
most of its letters are in gibberish words. Stretched letters ("дааааа", "nooo") are
collapsed before judging.

It also puts the customer's full text back into ``TEXT`` when LongMessageTrimmer cut it,
so the parse result and the action server's ``latest_message["text"]`` are complete (see
truncate.py for what Rasa does with each).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import ENTITY_ATTRIBUTE_CONFIDENCE_TYPE
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from msgops.nlu.language import LANGUAGE_ENTITY, detect_language
from msgops.nlu.tokenizer import get_morph
from msgops.nlu.truncate import DEFAULT_MAX_CHARS, ORIGINAL_LENGTH, ORIGINAL_TEXT

INPUT_ISSUE_ENTITY = "input_issue"
KEEP_ENTITIES = frozenset({"language"})

# Symbol-only answers people use on purpose: "+" (yes), "-" (no), "?" (what?).
_MEANINGFUL_SYMBOLS = re.compile(r"^\s*([+\-?!.]{1,3}|\+1|-1)\s*$")
_URL_OR_EMAIL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_STRETCH = re.compile(r"(.)\1{2,}")

_VOWELS_RU = set("аеёиоуыэюя")
_VOWELS_EN = set("aeiouy")
_ROWS = [
    "qwertyuiop", "asdfghjkl", "zxcvbnm",
    "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю",
]
# vowel-less chat shorthands that are words to their writers
_CHAT_ABBREVIATIONS = frozenset(
    "пжлст пжст пжлсто спсб спсбо здрст здрств млрд млн тыс psst pfft hmmm shhh brrr grrr "
    "nvm thx thnx pls plz btw".split()
)
_KEY_POS = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}


def _keyboard_ratio(word: str) -> float:
    """Share of neighbouring letter pairs that are neighbours on one keyboard row."""
    pairs = 0
    adjacent = 0
    for a, b in zip(word, word[1:], strict=False):
        pa, pb = _KEY_POS.get(a), _KEY_POS.get(b)
        if pa is None or pb is None:
            continue
        pairs += 1
        if pa[0] == pb[0] and abs(pa[1] - pb[1]) == 1:
            adjacent += 1
    return adjacent / pairs if pairs else 0.0


def _max_consonant_run(word: str, vowels: set) -> int:
    best = run = 0
    for ch in word:
        if ch in vowels or not ch.isalpha():
            run = 0
        else:
            run += 1
            best = max(best, run)
    return best


def is_gibberish_word(word: str) -> bool:
    """True when a single word looks like a keyboard mash (see module doc)."""
    w = word.lower().replace("ё", "е")
    if len(w) >= 5 and len(set(w)) == 1:
        return True  # "ggggggg"
    for size in (2, 3):  # "dfgdfgdfg" is a mash, "хахаха" and "lalala" are not
        chunk = w[:size]
        reps = len(w) // size
        if reps >= 3 and len(set(chunk)) > 1 and w == (chunk * (reps + 1))[: len(w)]:
            return _mashy_chunk(chunk)
    w = _STRETCH.sub(r"\1", w)  # "дааааа" -> "да"
    if len(w) < 4:
        return False
    cyrillic = bool(_CYRILLIC.search(w))
    if cyrillic and get_morph().word_is_known(w):
        return False
    if w in _CHAT_ABBREVIATIONS:
        return False
    vowels = _VOWELS_RU if cyrillic else _VOWELS_EN
    if len(w) >= (6 if cyrillic else 5) and not any(ch in vowels for ch in w):
        return True
    if _max_consonant_run(w, vowels) >= (7 if cyrillic else 6):
        return True
    ratio = _keyboard_ratio(w)
    if cyrillic:
        return (len(w) >= 5 and ratio >= 0.6) or ratio == 1.0  # "фыва": 4 letters, all adjacent
    return len(w) >= 6 and ratio >= 0.7


def _mashy_chunk(chunk: str) -> bool:
    """A repeated chunk is a mash when it has no vowel or its letters sit side by side."""
    vowels = _VOWELS_RU | _VOWELS_EN
    return not any(ch in vowels for ch in chunk) or _keyboard_ratio(chunk) >= 0.5


def _is_symbolic(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in ("S", "P", "Z", "C", "M")


def classify_input(text: Optional[str], original_length: Optional[int] = None,
                   max_chars: int = DEFAULT_MAX_CHARS) -> Optional[str]:
    """``empty``, ``emoji``, ``gibberish``, ``too_long`` or ``None`` for a normal message."""
    length = original_length if original_length is not None else len(text or "")
    if length > max_chars or len(text or "") > max_chars:
        return "too_long"
    if text is None or not text.strip():
        return "empty"
    stripped = text.strip()
    if not any(ch.isalnum() for ch in stripped):
        if _MEANINGFUL_SYMBOLS.match(stripped):
            return None
        return "emoji"
    words = _WORD.findall(_URL_OR_EMAIL.sub(" ", stripped))
    letters = sum(len(w) for w in words)
    if not letters:
        return None  # numbers, phone numbers, "15.03", "+7 ..."
    bad = sum(len(w) for w in words if is_gibberish_word(w))
    if bad * 2 > letters:
        return "gibberish"
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class InputGuard(GraphComponent, IntentClassifier):
    """Forces ``nlu_fallback`` + ``input_issue`` for empty, emoji, gibberish, too long input."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``max_chars`` should equal LongMessageTrimmer's; ``restore_text`` see module doc."""
        return {"max_chars": DEFAULT_MAX_CHARS, "restore_text": True}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))
        self.restore_text = bool(config.get("restore_text", True))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        """Creates the guard; loads pymorphy3 now so the first customer does not wait."""
        get_morph()
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        """Overrides intent and entities of messages that cannot be understood."""
        for message in messages:
            text = message.get(TEXT)
            issue = classify_input(text, message.get(ORIGINAL_LENGTH), self.max_chars)
            original = message.get(ORIGINAL_TEXT)
            if self.restore_text and isinstance(original, str):
                message.set(TEXT, original)
                text = original
            if issue is None:
                continue
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: 1.0,
            }
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [dict(fallback)], add_to_output=True)
            entities = [
                e
                for e in message.get(ENTITIES, [])
                if e.get(ENTITY_ATTRIBUTE_TYPE) in KEEP_ENTITIES
            ]
            if issue == "gibberish":
                entities = self._language_without_mash(message.get(TEXT), entities)
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: INPUT_ISSUE_ENTITY,
                    ENTITY_ATTRIBUTE_VALUE: issue,
                    ENTITY_ATTRIBUTE_START: 0,
                    ENTITY_ATTRIBUTE_END: len(text or ""),
                    ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,
                    EXTRACTOR: self.__class__.__name__,
                }
            )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    @staticmethod
    def _language_without_mash(
        text: Optional[str], entities: List[Dict[str, Any]]
    ) -> List[Dict[str, Any]]:
        """A Latin-layout mash ("asdkjhqwe") from a Russian speaker is no evidence of
        English: re-detect the language from the real words only, or drop the entity."""
        words = (text or "").split()
        real = " ".join(w for w in words if not any(is_gibberish_word(x) for x in _WORD.findall(w)))
        lang = detect_language(real)
        kept = []
        for e in entities:
            if e.get(ENTITY_ATTRIBUTE_TYPE) == LANGUAGE_ENTITY:
                if lang is None:
                    continue
                e = {**e, ENTITY_ATTRIBUTE_VALUE: lang}
            kept.append(e)
        return kept
