"""English person names, read from the ways customers introduce themselves.

Why rules: DIET learns English names from a few dozen annotated examples and found almost
none of the held-out ones (person F1 0.15 on bench/data/entities_en.yml: "I'm Rachel, ...",
"Lucy here, ..."), and no English name list ships offline. Customers, though, introduce
themselves in a handful of ways, so a name is taken only after such a cue ("I'm", "my name
is", "this is", "call me", "name:") or before "here" ("Lucy here"): one or two words that are
not a weekday, a month or a word that usually follows the cue ("I'm looking", "it's Friday").

A capitalised name is enough after any cue; a lower-case one ("my name is rachel") only after
the unambiguous cues, since "im in khimki" or "this is urgent" follow the short ones.
"""
from __future__ import annotations

import re
from typing import List, Tuple

Span = Tuple[int, int]

_WORD = r"[A-Za-z]+(?:['’-][A-Za-z]+)?"
_WORD_RE = re.compile(_WORD)
_STRONG_CUES = r"my name is|my name['’]s|name['’]s|name is|call me|name\s*:"
_WEAK_CUES = r"i['’]m|i am|im|this is|it['’]s|it is"
_CUE = re.compile(
    rf"(?<![\w'’])(?i:(?P<strong>{_STRONG_CUES})|{_WEAK_CUES})\s*[,:\-–—]?\s+(?P<name>{_WORD}(?:\s+{_WORD})?)"
)
_HERE = re.compile(
    r"(?:^|[.!?,]\s*|(?i:\b(?:hi|hello|hey|hiya)\b)[,!]?\s+)(?P<name>[A-Z][a-z]+(?:['’-][A-Za-z]+)?"
    r"(?:\s+[A-Z][a-z]+)?)\s+(?i:here)\b"
)

# Words that follow "I'm", "this is" or "it's" but are no name; extend as real traffic shows more.
_NOT_NAMES = frozenset("""
    monday tuesday wednesday thursday friday saturday sunday today tomorrow tonight
    january february march april may june july august september october november december
    a an the in at on from not no yes ok okay so very really just also still only here there
    free busy available interested sorry sure fine good great happy ready new back home away
    out late early sick glad afraid confused wondering hoping thinking writing calling texting
    messaging moving looking trying going asking after about over done urgent hi hello hey
    your you we they he she it this that what who me mr mrs ms miss dr
""".split())


def _is_name_word(word: str) -> bool:
    return word.lower() not in _NOT_NAMES and not word.lower().endswith("ing") and len(word) > 1


def _name_value(words: List[str]) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words)


def find_english_people(text: str) -> List[Tuple[Span, str]]:
    """Names after a self-introduction cue or before "here", with their spans, in text order."""
    found: List[Tuple[Span, str]] = []
    for match in _CUE.finditer(text):
        strong = match.group("strong") is not None
        kept: List[re.Match] = []
        for word in _WORD_RE.finditer(text, match.start("name"), match.end("name")):
            w = word.group()
            if not _is_name_word(w) or not (strong or w[:1].isupper()) or (kept and not w[:1].isupper()):
                break  # "my name is rachel and ...": only a capitalised word extends a name
            kept.append(word)
        if kept:
            found.append(((kept[0].start(), kept[-1].end()), _name_value([k.group() for k in kept])))
    for match in _HERE.finditer(text):
        words = match.group("name").split()
        if all(_is_name_word(w) for w in words):
            span = (match.start("name"), match.end("name"))
            if not any(s < span[1] and span[0] < e for (s, e), _ in found):
                found.append((span, _name_value(words)))
    return sorted(found)
