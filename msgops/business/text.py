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


@lru_cache(maxsize=20000)
def is_known_non_name(word: str) -> bool:
    """A Russian word the dictionary knows, with no reading as a first name, surname or
    patronymic: "вчера", "Тверь", "уборка" are answers to another question, never a name.
    Unknown words (rare or foreign names) and Latin words are given the benefit of the doubt."""
    word = word.lower().replace("ё", "е")
    if not re.fullmatch("[а-я-]+", word) or not _morph().word_is_known(word):
        return False
    return not any({"Name", "Surn", "Patr"} & set(p.tag.grammemes) for p in _morph().parse(word))


def lemmas(text: str) -> List[str]:
    return [lemma(w) for w in _WORD.findall(text)]


def phrase_key(text: str) -> str:
    return " ".join(lemmas(text))


def similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def contains_phrase(haystack: List[str], needle: List[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def contains_phrase_with_typos(text: str, phrase: str) -> bool:
    """A multi-word phrase in the text, inflected, with typos in its longer words ("уборка
    посе ремонта"); at least one word must be exact. Without this a typo in "после" left only
    "ремонт" to match, and an after-renovation cleaning was read as a repair job."""
    words, needle = _WORD.findall(text.lower()), _WORD.findall(phrase.lower())
    n = len(needle)
    if n < 2:
        return False
    text_lemmas, needle_lemmas = [lemma(w) for w in words], [lemma(w) for w in needle]
    for i in range(len(words) - n + 1):
        exact = [text_lemmas[i + k] == needle_lemmas[k] for k in range(n)]
        if any(exact) and all(
            exact[k] or (min(len(words[i + k]), len(needle[k])) >= 4 and similar(words[i + k], needle[k]) >= 0.8)
            for k in range(n)
        ):
            return True
    return False


def best_fuzzy(word: str, candidates: Iterable[str], cutoff: float = 0.84) -> str | None:
    """The candidate closest to a typo'd word, if close enough; short words must match exactly."""
    if len(word) < 5:
        return None
    scored = [(similar(word, c), c) for c in candidates if abs(len(c) - len(word)) <= 2]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= cutoff else None
