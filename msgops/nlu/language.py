"""Which language a customer is writing in, as an entity the `language` slot can take.

Why an entity and not a message property: Rasa fills slots from entities, so one
`from_entity` mapping keeps the `language` slot current and the responses switch
between ru and en variations without custom code. Why "absent when unsure": a Russian
speaker who answers "ok", "+", "👍" or a phone number must not be switched to English,
so such messages add nothing and the slot keeps its previous value.

The rule is deliberately simple and cheap (no model): count letters. Cyrillic letters
are strong evidence for Russian (English speakers do not type them); Latin words count
for English unless they are neutral tokens ("ok"), brand names Russians write in Latin
("ikea", "whatsapp"), or parts of e-mails, links and tokens with digits ("m2", "3pm",
"10k"). Cyrillic counts everywhere, "м2" included, except in a message that is only a
person's name ("Дмитрий"). With both scripts present the majority of counted letters wins;
a tie gives nothing.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import ENTITY_ATTRIBUTE_CONFIDENCE_TYPE
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

LANGUAGE_ENTITY = "language"

# Tokens that say nothing about the language: acknowledgements both groups type, and
# Latin names of things Russian speakers write in Latin.
NEUTRAL_TOKENS = frozenset(
    """
    ok okay okey okk kk k ок окей оке океюшки окс кк
    ikea икеа whatsapp telegram tg viber instagram insta vk wifi wi fi sms email e mail
    gmail yandex iphone android tv wc pdf url http https www usd eur rub
    """.split()
)

# e-mails, links, and slash commands/button payloads ("/start" from Telegram, "/affirm")
_URL_OR_EMAIL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|(?<!\S)/\w\S*", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")


def _only_a_name(text: str) -> bool:
    """One to three capitalised Cyrillic words that are all first names, surnames or
    patronymics ("Дмитрий", "Анна Петрова"): an English customer answering "what is your
    name?" in Cyrillic has not switched to Russian."""
    words = text.strip().strip(".,!)").split()
    if not 1 <= len(words) <= 3 or not all(_CYRILLIC.search(w) and w[:1].isupper() for w in words):
        return False
    from msgops.nlu.tokenizer import get_morph

    return all(any({"Name", "Surn", "Patr"} & set(p.tag.grammemes) for p in get_morph().parse(w.lower()))
               for w in words)


def detect_language(text: Optional[str]) -> Optional[str]:
    """``"ru"``, ``"en"`` or ``None`` when the text gives no evidence (see module doc)."""
    if not text or _only_a_name(text):
        return None
    cyr = 0
    lat = 0
    for word in _WORD.findall(_URL_OR_EMAIL.sub(" ", text)):
        low = word.lower()
        if low in NEUTRAL_TOKENS or "_" in low:
            continue
        c = len(_CYRILLIC.findall(low))
        if c:  # Cyrillic counts even in "м2" or "10к": English speakers do not type it
            cyr += c
            continue
        if any(ch.isdigit() for ch in low):
            continue  # "3pm", "10k", "m2": too little to go on
        la = len(_LATIN.findall(low))
        if la >= 2 or low == "i":
            lat += la
    if cyr > lat:
        return "ru"
    if lat > cyr:
        return "en"
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Adds the entity ``language`` (``ru``/``en``) when the text shows which one it is."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the rule is the contract in docs/architecture.md."""
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """Creates the component (nothing to load)."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the ``language`` entity to each message that gives evidence."""
        for message in messages:
            text = message.get(TEXT)
            lang = detect_language(text)
            if lang is None:
                continue
            entities = [
                e
                for e in message.get(ENTITIES, [])
                if e.get(ENTITY_ATTRIBUTE_TYPE) != LANGUAGE_ENTITY
            ]
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                    ENTITY_ATTRIBUTE_VALUE: lang,
                    ENTITY_ATTRIBUTE_START: 0,
                    ENTITY_ATTRIBUTE_END: len(text),
                    ENTITY_ATTRIBUTE_CONFIDENCE_TYPE: 1.0,
                    EXTRACTOR: self.name,
                }
            )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
