"""Text normalisation shared by every matcher of free-typed answers (services, places)."""
from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Iterable, List

_WORD = re.compile(r"[\w-]+", re.UNICODE)


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=20000)
def lemma(word: str) -> str:
    """Dictionary form of a Russian word ("Химках" -> "химки"); other words lower-cased."""
    word = word.lower().replace("ё", "е")
    if re.search("[а-я]", word):
        return _morph().parse(word)[0].normal_form.replace("ё", "е")
    return word


def lemmas(text: str) -> List[str]:
    return [lemma(w) for w in _WORD.findall(text)]


def phrase_key(text: str) -> str:
    return " ".join(lemmas(text))


def similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def contains_phrase(haystack: List[str], needle: List[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def best_fuzzy(word: str, candidates: Iterable[str], cutoff: float = 0.84) -> str | None:
    """The candidate closest to a typo'd word, if close enough; short words must match exactly."""
    if len(word) < 5:
        return None
    scored = [(similar(word, c), c) for c in candidates if abs(len(c) - len(word)) <= 2]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= cutoff else None
