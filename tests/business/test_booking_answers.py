"""What a customer types in the booking and review questions, read as values."""
from __future__ import annotations

import pytest

from msgops.booking import read_rating
from msgops.business.when_text import format_duration


@pytest.mark.parametrize("text, rating", [
    ("5", 5), ("4/5", 4), ("на 4", 4), ("5 из 5, супер", 5), ("пятёрка", 5), ("Пятерка!", 5),
    ("твёрдая четвёрка", 4), ("three", 3), ("four stars", 4), ("1", 1),
    ("от 3 до 5", None), ("12", None), ("нормально", None), ("", None), ("4.5", None), ("0", None),
])
def test_read_rating(text, rating):
    assert read_rating(text) == rating


@pytest.mark.parametrize("minutes, lang, text", [
    (120, "ru", "2 ч"), (90, "ru", "1 ч 30 мин"), (45, "en", "45 min"), (420, "en", "7 h"), (0, "en", "0 min"),
])
def test_format_duration(minutes, lang, text):
    assert format_duration(minutes, lang) == text
