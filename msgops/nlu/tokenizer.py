"""Whitespace tokenizer that gives Russian tokens their dictionary form as the lemma.

Why: Russian inflects every noun, verb and adjective ("уборка", "уборку", "уборки",
"уборкой"). With only a few dozen examples per intent, CountVectorsFeaturizer would see
each form as a different word; with ``use_lemma: true`` it reads ``token.lemma``, and
here that is pymorphy3's normal form, so all forms share one feature. Tokens without
Cyrillic letters get their lower-cased text (English barely inflects, and the
char n-gram featurizer covers the rest). Token text and offsets are untouched, so DIET's
entity spans and the LexicalSyntacticFeaturizer still see the text as written.

The MorphAnalyzer (about 0.1 s and ~15 MB of dictionaries) is created on first use, once
per process, shared with the guard and the extractor through :func:`get_morph`, and never
at import time, so importing msgops stays cheap for the action server and tests.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")

_morph_lock = threading.Lock()
_morph: Optional[Any] = None


def get_morph() -> Any:
    """The process-wide pymorphy3 MorphAnalyzer, created on first call."""
    global _morph
    if _morph is None:
        with _morph_lock:
            if _morph is None:
                import pymorphy3

                _morph = pymorphy3.MorphAnalyzer()
    return _morph


@lru_cache(maxsize=100_000)
def lemma_of(word: str) -> str:
    """Dictionary form of a Cyrillic word ("уборку" -> "уборка"), else the word lower-cased.

    "ё" is written as "е" so "ещё"/"еще" are one feature. Cached: chat vocabulary is
    small and repetitive, and a cache hit costs far less than a pymorphy parse.
    """
    low = word.lower()
    if not _CYRILLIC.search(low):
        return low
    return get_morph().parse(low)[0].normal_form.replace("ё", "е")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class LemmatizingTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer + pymorphy3 lemmas (see module doc)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Same options as WhitespaceTokenizer."""
        return WhitespaceTokenizer.get_default_config()

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Whitespace tokens with ``lemma`` set."""
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = lemma_of(token.text)
        return tokens
