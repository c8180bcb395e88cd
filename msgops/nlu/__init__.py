"""msgops's Rasa NLU graph components.

Use them in config.yml by module path, e.g. ``msgops.nlu.guard.InputGuard`` (see
docs/nlu_pipeline.md). The names below are exported lazily (PEP 562): importing
``msgops.nlu.timeparse`` or ``msgops.nlu.language.detect_language`` must not pull in Rasa
and TensorFlow, which take seconds to import; the action server and tests rely on that.
"""
from __future__ import annotations

import importlib
from typing import Any, List

_EXPORTS = {
    "LanguageDetector": "msgops.nlu.language",
    "LemmatizingTokenizer": "msgops.nlu.tokenizer",
    "StructuredEntityExtractor": "msgops.nlu.extractors",
    "InputGuard": "msgops.nlu.guard",
    "LongMessageTrimmer": "msgops.nlu.truncate",
    "parse_when": "msgops.nlu.timeparse",
    "When": "msgops.nlu.timeparse",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'msgops.nlu' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> List[str]:
    return sorted(list(globals()) + __all__)
