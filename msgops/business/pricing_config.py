"""The pricing rules of the business profile, as a business owner writes them in business.yml.

Base prices stay where they already are, in `services:` (price, unit, min_order), with
three optional per-service additions: `quantity` (the range we quote), `extras` (which
add-ons the service accepts) and `price_range` (when condition decides the final price).
Everything shared lives under `pricing:`. The loader hands the `services:` list to
`PricingRules.services` as well, so the pricing engine needs nothing but these models.

Sections written only for pricing refuse unknown keys: a misspelt `promo_code:` would
otherwise be ignored and the owner would wonder why the code never works. This module
imports nothing from config.py because config.py imports it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Dict, List, Literal, Optional, Tuple

from pydantic import BaseModel, Extra, Field, root_validator, validator

Unit = Literal["m2", "hour", "item", "window", "visit"]
Percent = Decimal


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class Text(_Strict):
    """A phrase in both languages the bot speaks (same shape as config.Localized)."""

    ru: str
    en: str

    def get(self, lang: Optional[str]) -> str:
        return self.en if lang == "en" else self.ru


class AddOn(_Strict):
    """One extra a customer can order on top of a service.

    `per` says what a `price` multiplies: `order` (once), `each` (the number the customer
    gives: balconies, ovens, floors), `unit` (the service quantity, e.g. per m²). A
    `percent` is of the service's own price (price x quantity) and is charged once.
    `free_up_to` makes the first N of an `each` extra free, which is how "300 per floor
    above the 3rd" is written.
    """

    name: Text
    price: Optional[Decimal] = Field(None, ge=0)
    percent: Optional[Percent] = Field(None, gt=0)
    per: Literal["order", "each", "unit"] = "order"
    aliases: List[str] = []  # other words customers use for it ("лоджия", "cat")
    free_up_to: int = Field(0, ge=0)

    @root_validator(skip_on_failure=True)
    def _one_way_to_charge(cls, values: dict) -> dict:
        if (values["price"] is None) == (values["percent"] is None):
            raise ValueError("write either `price` or `percent`, not both or neither")
        if values["percent"] is not None and values["per"] != "order":
            raise ValueError("a `percent` extra is charged once; drop `per`")
        if values["free_up_to"] and values["per"] != "each":
            raise ValueError("`free_up_to` only makes sense with `per: each`")
        return values


class PriceRange(_Strict):
    """The work may cost more than `price` depending on condition: the quote becomes a range.

    The low end is always the service's `price` ("from 250 per m²"); the high end is
    either `max_price` per unit or `price` x `factor`.
    """

    factor: Optional[Decimal] = Field(None, gt=1)
    max_price: Optional[Decimal] = Field(None, gt=0)
    conditions: Text

    @root_validator(skip_on_failure=True)
    def _one_high_end(cls, values: dict) -> dict:
        if (values["factor"] is None) == (values["max_price"] is None):
            raise ValueError("write either `factor` or `max_price`, not both or neither")
        return values


class ServicePrice(BaseModel):
    """The pricing fields of one `services:` entry.

    Not strict: the entry also carries name aliases and duration, which the profile's
    Service model checks.
    """

    name: Text
    price: Decimal = Field(..., gt=0)
    unit: Unit
    min_order: Decimal = Field(Decimal(0), ge=0)
    quantity: Optional[Tuple[Decimal, Decimal]] = None
    extras: List[str] = []
    price_range: Optional[PriceRange] = None

    @validator("quantity")
    def _ordered(
        cls, value: Optional[Tuple[Decimal, Decimal]]
    ) -> Optional[Tuple[Decimal, Decimal]]:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError("write [smallest, largest], both above zero")
        return value

    @root_validator(skip_on_failure=True)
    def _range_above_price(cls, values: dict) -> dict:
        high = values["price_range"].max_price if values["price_range"] else None
        if high is not None and high <= values["price"]:
            raise ValueError(
                f"price_range -> max_price {high} must be above price {values['price']}"
            )
        return values

    @property
    def high_price(self) -> Decimal:
        """The unit price of the most expensive case (equal to `price` when fixed)."""
        if self.price_range is None:
            return self.price
        return self.price_range.max_price or self.price * self.price_range.factor


class VolumeTier(_Strict):
    unit: Unit
    from_: Decimal = Field(..., alias="from", gt=0)
    percent: Percent = Field(..., gt=0, le=100)


class UrgencyTier(_Strict):
    within_hours: Decimal = Field(..., gt=0)
    percent: Percent = Field(..., gt=0)


class Discounts(_Strict):
    first_order: Percent = Field(Decimal(0), ge=0, le=100)
    volume: List[VolumeTier] = []


class Promo(_Strict):
    """A promo code; `expires` is the last day it works (inclusive, business timezone)."""

    code: str = Field(..., regex=r"^\s*[A-Za-z0-9_-]+\s*$")
    percent: Optional[Percent] = Field(None, gt=0, le=100)
    amount: Optional[Decimal] = Field(None, gt=0)
    expires: Optional[date] = None

    @validator("code")
    def _canonical(cls, value: str) -> str:
        return value.strip().upper()

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: dict) -> dict:
        if (values["percent"] is None) == (values["amount"] is None):
            raise ValueError("write either `percent` or `amount`, not both or neither")
        return values


class Tax(_Strict):
    rate: Percent = Field(..., gt=0, le=100)
    included: bool = True  # Russian consumer prices must already include VAT
    name: Text = Text(ru="НДС", en="VAT")


class PricingRules(_Strict):
    round_to: Decimal = Field(Decimal(1), gt=0)
    tax: Optional[Tax] = None
    travel: Dict[str, Tuple[Decimal, Decimal]] = {}
    urgency: List[UrgencyTier] = []
    discounts: Discounts = Discounts()
    promo_codes: List[Promo] = []
    extras: Dict[str, AddOn] = {}
    services: Dict[str, ServicePrice] = {}

    @validator("travel", pre=True)
    def _fixed_or_range(cls, value: object) -> object:
        """`near: 500` reads as the range 500-500, so the engine has one shape to handle."""
        if not isinstance(value, dict):
            return value
        return {
            zone: price if isinstance(price, list | tuple) else (price, price)
            for zone, price in value.items()
        }

    @validator("travel")
    def _travel_ordered(
        cls, value: Dict[str, Tuple[Decimal, Decimal]]
    ) -> Dict[str, Tuple[Decimal, Decimal]]:
        for zone, (low, high) in value.items():
            if not 0 <= low <= high:
                raise ValueError(f"{zone}: write [lowest, highest], neither below zero")
        return value

    @validator("services", pre=True)
    def _by_id(cls, value: object) -> object:
        """Accept business.yml's `services:` list as is. Entries without an id are left to
        the profile's own Service validation to report."""
        if isinstance(value, list):
            return {item["id"]: item for item in value if isinstance(item, dict) and "id" in item}
        return value

    @validator("promo_codes")
    def _unique_codes(cls, value: List[Promo]) -> List[Promo]:
        codes = [promo.code for promo in value]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"code(s) {twice} written twice")
        return value

    @root_validator(skip_on_failure=True)
    def _extras_described(cls, values: dict) -> dict:
        for service_id, service in values["services"].items():
            unknown = [extra for extra in service.extras if extra not in values["extras"]]
            if unknown:
                raise ValueError(
                    f"services -> {service_id} -> extras: {unknown} not described "
                    f"under pricing -> extras"
                )
        return values
