"""Choices a process offers, as Rasa buttons; each channel renders them within its limits.

Processes never build platform payloads: they say "offer these choices" here, and the
channel connectors (msgops/channels/render.py) turn the buttons into reply buttons, lists
or numbered menus. A choice that carries data is an intent payload with entities, so a
click and a typed answer go through the same slot mappings.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Dict, Iterable, List


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


def intent_payload(intent: str, **entities: str) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def buttons(choices: Iterable[Choice]) -> List[Dict[str, str]]:
    return [{"title": c.title, "payload": c.payload} for c in choices]
