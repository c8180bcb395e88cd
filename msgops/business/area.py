"""Whether a place a customer typed is inside the service area, and in which zone."""
from __future__ import annotations

from typing import Optional

from msgops.business.config import BusinessConfig, Zone
from msgops.business.text import best_fuzzy, contains_phrase, lemmas


def find_zone(place: str, cfg: BusinessConfig) -> Optional[Zone]:
    """The first zone naming the place; "в Химках", "khimki" and "Химки" are the same place.

    A typo of a place name longer than four letters still matches ("Химкки"); a place not
    listed anywhere is outside the area, which the qualification rules decide about.
    """
    words = lemmas(place)
    for zone in cfg.service_area.zones:
        for name in zone.places:
            if contains_phrase(words, lemmas(name)):
                return zone
    single = {lemmas(n)[0]: z for z in cfg.service_area.zones for n in z.places if len(lemmas(n)) == 1}
    for word in words:
        hit = best_fuzzy(word, single)
        if hit:
            return single[hit]
    return None


def has_house_number(address: Optional[str]) -> bool:
    """Whether an address names a house, not only a town or district ("Марьино"): a crew
    cannot find a flat from a district, so a visit needs the number."""
    return bool(address) and any(ch.isdigit() for ch in address)


def area_summary(cfg: BusinessConfig, lang: Optional[str]) -> str:
    return "; ".join(zone.name.get(lang) for zone in cfg.service_area.zones)
