"""Money as a customer reads it, per language: "12 500 ₽" in Russian, "RUB 12,500" in English."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Optional, Union

_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "BYN": "Br"}
NARROW_NBSP = "\u202f"


def format_money(amount: Union[Decimal, float, int], currency: str, lang: Optional[str]) -> str:
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole = value == value.to_integral_value()
    if lang == "en":
        digits = f"{value:,.0f}" if whole else f"{value:,.2f}"
        return f"{currency} {digits}"
    digits = f"{value:,.0f}" if whole else f"{value:,.2f}"
    digits = digits.replace(",", NARROW_NBSP).replace(".", ",")
    return f"{digits}{NARROW_NBSP}{_SIGNS.get(currency, currency)}"


def parse_money(value: str) -> Optional[tuple[Decimal, str]]:
    """Read the `budget` entity's normalised form "5000 RUB" back into amount and currency."""
    parts = str(value).split()
    try:
        amount = Decimal(parts[0])
    except (IndexError, ArithmeticError, ValueError):
        return None
    return amount, parts[1] if len(parts) > 1 else ""
