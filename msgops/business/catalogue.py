"""Which service a customer means, and how its price reads, in either language."""
from __future__ import annotations

from typing import Optional

from msgops.business.config import BusinessConfig, Service
from msgops.business.money import format_money
from msgops.business.text import best_fuzzy, contains_phrase, contains_phrase_with_typos, lemmas

_UNIT = {
    "ru": {"m2": "за м²", "hour": "в час", "item": "за предмет", "window": "за окно", "visit": "за выезд"},
    "en": {"m2": "per m²", "hour": "per hour", "item": "per item", "window": "per window", "visit": "per visit"},
}


def match_service(text: str, cfg: BusinessConfig) -> Optional[Service]:
    """A service id, a name or an alias, inflected or with a typo, in either language."""
    direct = cfg.service(text.strip())
    if direct:
        return direct
    words = lemmas(text)
    best: tuple[int, Optional[Service]] = (0, None)
    for service in cfg.services:
        for phrase in [service.name.ru, service.name.en, *service.aliases]:
            needle = lemmas(phrase)
            if len(needle) > best[0] and (contains_phrase(words, needle) or contains_phrase_with_typos(text, phrase)):
                best = (len(needle), service)
    if best[1]:
        return best[1]
    vocabulary = {w: s for s in cfg.services for p in [s.name.ru, s.name.en, *s.aliases]
                  for w in lemmas(p) if len(lemmas(p)) == 1}
    for word in words:
        hit = best_fuzzy(word, vocabulary)
        if hit:
            return vocabulary[hit]
    return None


def price_text(service: Service, cfg: BusinessConfig, lang: Optional[str]) -> str:
    lang = "en" if lang == "en" else "ru"
    price = format_money(service.price, cfg.business.currency, lang)
    minimum = format_money(service.min_order, cfg.business.currency, lang)
    if lang == "en":
        return f"from {price} {_UNIT['en'][service.unit]}, minimum order {minimum}"
    return f"от {price} {_UNIT['ru'][service.unit]}, минимальный заказ {minimum}"


def price_list(cfg: BusinessConfig, lang: Optional[str]) -> str:
    return "\n".join(f"• {s.name.get(lang)}: {price_text(s, cfg, lang)}" for s in cfg.services)
