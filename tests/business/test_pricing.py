"""The pricing engine against a table of quotes worked out by hand.

The rules below are the ones proposed in docs/pricing.md, written out here so an owner's
edit of business.yml cannot move the expectations. Unless a case says otherwise: prices
include 20 % VAT (so VAT = total x 20/120), totals are rounded to 10 half up, "now" is
Thursday 2026-12-03 22:40 Moscow, zone is "city" (free travel), no date, no promo.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Optional, Tuple, Union
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from msgops.business.pricing import (
    TRAVEL_NOT_INCLUDED,
    TRAVEL_RANGE,
    PricingError,
    PricingErrorCode,
    Span,
    format_span,
    quote,
)
from msgops.business.pricing_config import PricingRules, Text

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 3, 22, 40, tzinfo=MSK)
DIRT = {"ru": "Цена зависит от степени загрязнения", "en": "The price depends on how dirty it is"}
JOB = {"ru": "Цена зависит от сложности работы", "en": "The price depends on the job"}


def name(ru: str, en: str) -> dict:
    return {"ru": ru, "en": en}


RULES = {
    "round_to": 10,
    "tax": {"rate": 20, "included": True},
    "travel": {"city": 0, "near": 500, "far": [1000, 2000]},
    "urgency": [{"within_hours": 24, "percent": 30}, {"within_hours": 4, "percent": 50}],
    "discounts": {
        "first_order": 10,
        "volume": [
            {"unit": "m2", "from": 100, "percent": 5},
            {"unit": "m2", "from": 200, "percent": 8},
        ],
    },
    "promo_codes": [
        {"code": "WINTER500", "amount": 500, "expires": "2027-02-28"},
        {"code": "SPRING15", "percent": 15, "expires": "2027-05-31"},
        {"code": "OLD10", "percent": 10, "expires": "2026-11-30"},
        {"code": "BIG", "amount": 20000},
    ],
    "extras": {
        "balcony": {"name": name("Балкон", "Balcony"), "price": 1500},
        "fridge": {"name": name("Холодильник внутри", "Inside the fridge"), "price": 800},
        "oven": {"name": name("Духовка", "Oven"), "price": 700, "per": "each"},
        "pets": {"name": name("Домашние животные", "Pets"), "percent": 10},
        "no_lift": {
            "name": name("Подъём без лифта", "No lift"),
            "price": 300,
            "per": "each",
            "free_up_to": 3,
        },
        "eco": {"name": name("Эко-средства", "Eco products"), "price": 20, "per": "unit"},
    },
    # As in business.yml's `services:` list, so the loader can pass that list unchanged.
    "services": [
        {
            "id": "general_cleaning",
            "name": name("Генеральная уборка", "Deep cleaning"),
            "price": 180,
            "unit": "m2",
            "min_order": 6000,
            "quantity": [20, 500],
            "duration_minutes": 300,
            "extras": ["balcony", "fridge", "oven", "pets", "no_lift", "eco"],
        },
        {
            "id": "regular_cleaning",
            "name": name("Поддерживающая уборка", "Regular cleaning"),
            "price": 90,
            "unit": "m2",
            "min_order": 3500,
            "quantity": [20, 300],
        },
        {
            "id": "window_cleaning",
            "name": name("Мойка окон", "Window cleaning"),
            "price": 900,
            "unit": "window",
            "min_order": 2700,
            "quantity": [1, 50],
        },
        {
            "id": "renovation_cleaning",
            "name": name("Уборка после ремонта", "After-renovation cleaning"),
            "price": 250,
            "unit": "m2",
            "min_order": 9000,
            "quantity": [20, 500],
            "extras": ["pets"],
            "price_range": {"factor": 1.5, "conditions": DIRT},
        },
        {
            "id": "handyman",
            "name": name("Мелкий ремонт", "Handyman repairs"),
            "price": 1800,
            "unit": "hour",
            "min_order": 3600,
            "quantity": [1, 8],
            "price_range": {"max_price": 2500, "conditions": JOB},
        },
    ],
}

Money = Union[int, str, Tuple[Union[int, str], Union[int, str]]]


def rules(**changes: object) -> PricingRules:
    data = copy.deepcopy(RULES)
    data.update(changes)
    return PricingRules.parse_obj(data)


def span(value: Money) -> Span:
    low, high = value if isinstance(value, tuple) else (value, value)
    return Span(Decimal(low), Decimal(high))


def case(case_id: str, service: str, quantity: object, total: Money, *,
         changes: Optional[dict] = None, tax: Optional[Money] = None, rounding: Money = 0,
         conditions: tuple = (), lines: tuple = (), **kwargs: object):
    return pytest.param(service, quantity, changes or {}, kwargs, total, tax, rounding,
                        conditions, lines, id=case_id)


def hours(count: float) -> datetime:
    return NOW + timedelta(hours=count)


G, R, W, REN, H = (
    "general_cleaning", "regular_cleaning", "window_cleaning", "renovation_cleaning", "handyman")
VAT_ADDED = {"tax": {"rate": 20, "included": False}}
SERVICE_ONLY = ("service",)

# fmt: off
CASES = [
    # 180 x 50 = 9000; VAT inside = 9000 x 20/120 = 1500.
    case("plain", G, 50, 9000, tax=1500, lines=SERVICE_ONLY),
    # 180 x 20 = 3600 < 6000 minimum -> top-up 2400 -> 6000; VAT 6000/6 = 1000.
    case("min-order-top-up", G, 20, 6000, tax=1000, lines=("service", "min_order")),
    # 9000 + balcony 1500 + fridge 800 = 11300; VAT 11300/6 = 1883.333 -> 1883.33.
    case("fixed-extras", G, 50, 11300, tax="1883.33", extras={"balcony": 1, "fridge": 1},
         lines=("service", "extra:balcony", "extra:fridge")),
    # 9000 + 2 ovens x 700 = 10400.
    case("extra-per-each", G, 50, 10400, extras={"oven": 2}),
    # 9000 + pets 10 % of 9000 = 900 -> 9900.
    case("extra-percent", G, 50, 9900, extras={"pets": 1}),
    # 7th floor, no lift: (7 - 3 free) x 300 = 1200 -> 10200.
    case("floors-above-free", G, 50, 10200, extras={"no_lift": 7}),
    # 2nd floor: 2 - 3 -> 0 floors charged -> 9000 (the line stays, at 0).
    case("floors-within-free", G, 50, 9000, extras={"no_lift": 2},
         lines=("service", "extra:no_lift")),
    # eco products 20 per m2 x 50 = 1000 -> 10000.
    case("extra-per-service-unit", G, 50, 10000, extras={"eco": 1}),
    # 3600 + balcony 1500 = 5100 < 6000 -> top-up 900 -> 6000: extras count toward the minimum.
    case("extras-toward-min-order", G, 20, 6000, extras={"balcony": 1}),
    # 9000 + near travel 500 = 9500; VAT 9500/6 = 1583.333 -> 1583.33.
    case("zone-near", G, 50, 9500, tax="1583.33", zone="near", lines=("service", "travel")),
    # far travel 1000..2000 -> 10000..11000, with the travel condition.
    case("zone-far-range", G, 50, (10000, 11000), zone="far", conditions=(TRAVEL_RANGE,)),
    # address unknown: 9000, travel left out and said so.
    case("zone-unknown", G, 50, 9000, zone=None, conditions=(TRAVEL_NOT_INCLUDED,)),
    # starts in 10 h (< 24 h): +30 % of 9000 = 2700 -> 11700.
    case("urgent-24h", G, 50, 11700, when=hours(10)),
    # starts in 3 h: both tiers match, the higher 50 % wins: 9000 + 4500 = 13500.
    case("urgent-4h", G, 50, 13500, when=hours(3)),
    # exactly 24 h ahead is not "within" 24 h: 9000.
    case("urgency-boundary", G, 50, 9000, when=hours(24)),
    # 20 m2: 3600 + top-up 2400 = 6000; urgent +30 % of 6000 = 1800 -> 7800.
    case("urgency-after-min-order", G, 20, 7800, when=hours(10),
         lines=("service", "min_order", "urgency")),
    # 150 m2: 27000, volume >= 100 m2 -5 % = 1350 -> 25650; VAT 25650/6 = 4275.
    case("volume-5", G, 150, 25650, tax=4275, lines=SERVICE_ONLY),
    # 250 m2: 45000, volume >= 200 m2 -8 % = 3600 -> 41400.
    case("volume-8", G, 250, 41400),
    # m2 tiers do not apply to windows: 12 x 900 = 10800.
    case("volume-other-unit", W, 12, 10800),
    # 150 m2, first order: best of 5 % and 10 % only -> 27000 - 2700 = 24300.
    case("best-percent-only", G, 150, 24300, first_order=True),
    # ... plus SPRING15 on what is left: 15 % of 24300 = 3645 -> 20655 -> half up to 20660
    # (rounding +5); VAT 20660/6 = 3443.333 -> 3443.33.
    case("best-percent-plus-promo", G, 150, 20660, tax="3443.33", rounding=5, first_order=True,
         promo="SPRING15"),
    # WINTER500 fixed: 9000 - 500 = 8500; typed in lower case with spaces.
    case("promo-fixed", G, 50, 8500, promo=" winter500 "),
    # on its last day (expires 2027-02-28, inclusive): still 8500.
    case("promo-last-day", G, 50, 8500, promo="WINTER500",
         now=datetime(2027, 2, 28, 23, 59, tzinfo=MSK)),
    # discounts skip travel: 9000 - 10 % = 8100, + near 500 = 8600.
    case("discount-not-on-travel", G, 50, 8600, zone="near", first_order=True),
    # BIG (20000) is capped at the 9000 of work; travel 500 is still paid -> 500.
    case("promo-capped", G, 50, 500, zone="near", promo="BIG"),
    # VAT added: 9000 + 20 % = 1800 -> 10800.
    case("tax-added", G, 50, 10800, tax=1800, changes=VAT_ADDED),
    # VAT added: 90 x 45.5 = 4095; VAT 819 -> 4914 -> rounded to 4910 (rounding -4).
    case("tax-added-rounding", R, "45.5", 4910, tax=819, rounding=-4, changes=VAT_ADDED),
    # no VAT, round to 100: 90 x 45 = 4050 -> 40.5 hundreds, half up -> 4100 (not 4000).
    case("round-100-half-up", R, 45, 4100, rounding=50, changes={"tax": None, "round_to": 100}),
    # no VAT, round to 1: 90 x 45,5 (a Russian decimal comma) = 4095 exactly.
    case("round-1", R, "45,5", 4095, changes={"tax": None, "round_to": 1}),
    # windows at the minimum: 3 x 900 = 2700 = min order, no top-up.
    case("exactly-min-order", W, 3, 2700, lines=SERVICE_ONLY),
    # factor 1.5: 250 x 40 = 10000 .. 375 x 40 = 15000; VAT 1666.67 .. 2500.
    case("range-factor", REN, 40, (10000, 15000), tax=("1666.67", 2500), conditions=(DIRT,)),
    # max_price 2500/h: 1800 x 3 = 5400 .. 2500 x 3 = 7500.
    case("range-max-price", H, 3, (5400, 7500), conditions=(JOB,)),
    # 1 h: 1800 + top-up 1800 .. 2500 + top-up 1100 -> both 3600: fixed, same caveat.
    case("range-under-min-order", H, 1, 3600, conditions=(JOB,), lines=("service", "min_order")),
    # 2.5 h: 4500 .. 6250.
    case("range-fractional-hours", H, "2.5", (4500, 6250), conditions=(JOB,)),
    # renovation + far: 10000 + 1000 = 11000 .. 15000 + 2000 = 17000.
    case("range-and-travel-range", REN, 40, (11000, 17000), zone="far",
         conditions=(DIRT, TRAVEL_RANGE)),
    # 120 m2 + pets, volume 5 %: low 30000 + 3000 = 33000 - 1650 = 31350;
    # high 375 x 120 = 45000 + 4500 = 49500 - 2475 = 47025 -> half up to 47030.
    case("range-percent-extra-volume", REN, 120, (31350, 47030), rounding=(0, 5),
         extras={"pets": 1}, conditions=(DIRT,)),
]
# fmt: on


@pytest.mark.parametrize(
    "service, quantity, changes, kwargs, total, tax, rounding, conditions, lines", CASES
)
def test_quote_table(service, quantity, changes, kwargs, total, tax, rounding, conditions, lines):
    result = quote(rules(**changes), service, quantity, **{"zone": "city", "now": NOW, **kwargs})
    assert result.total == span(total)
    assert result.rounding == span(rounding)
    if tax is not None:
        assert result.tax is not None and result.tax.amount == span(tax)
    assert list(result.conditions) == [Text(**c) if isinstance(c, dict) else c for c in conditions]
    if lines:
        assert [line.code for line in result.lines] == list(lines)
    # The identity the Quote promises holds in both cases.
    for end in ("min", "max"):
        total, subtotal, discounts, rounded = (
            getattr(amount, end)
            for amount in (result.total, result.subtotal, result.discount_total, result.rounding)
        )
        added = getattr(result.tax.amount, end) if result.tax and not result.tax_included else 0
        assert total == subtotal - discounts + added + rounded


def test_line_details():
    # 180 x 20 = 3600, top-up 2400, urgency 30 % of 6000 = 1800; 7th floor: 4 x 300.
    result = quote(
        rules(),
        "general_cleaning",
        20,
        extras={"no_lift": 7},
        zone="near",
        now=NOW,
        when=NOW + timedelta(hours=5),
        first_order=True,
    )
    by_code = {line.code: line for line in result.lines}
    assert by_code["service"].quantity == 20 and by_code["service"].unit_price == span(180)
    assert by_code["extra:no_lift"].quantity == 4 and by_code["extra:no_lift"].amount == span(1200)
    assert by_code["min_order"].amount == span(1200)  # 3600 + 1200 = 4800 -> +1200
    assert by_code["urgency"].percent == 30 and by_code["urgency"].amount == span(1800)
    assert result.subtotal == span(8300)  # 6000 + 1800 + 500 travel
    (first,) = result.discounts
    assert first.code == "first_order" and first.amount == span(780)  # 10 % of 7800
    assert result.total == span(7520)  # 8300 - 780
    assert result.tax_included and result.tax.label.get("en") == "VAT"


def test_range_lines_pair_both_cases():
    # handyman 1 h: top-up is 1800 in the cheapest case and 1100 in the dearest.
    result = quote(rules(), "handyman", 1, now=NOW)
    assert result.lines[0].unit_price == span((1800, 2500))
    assert result.lines[1].amount == Span(Decimal(1800), Decimal(1100))
    assert not result.is_range


E = PricingErrorCode


# fmt: off
@pytest.mark.parametrize("service, quantity, kwargs, code, details", [
    ("sauna", 1, {}, E.UNKNOWN_SERVICE, {}),
    (G, 10, {}, E.QUANTITY_OUT_OF_RANGE, {"min": 20, "max": 500}),
    (G, 501, {}, E.QUANTITY_OUT_OF_RANGE, {"min": 20, "max": 500}),
    (G, -5, {}, E.BAD_QUANTITY, {}),
    (G, "много", {}, E.BAD_QUANTITY, {}),
    (W, "2.5", {}, E.BAD_QUANTITY, {}),
    (G, 50, {"extras": {"sauna": 1}}, E.UNKNOWN_EXTRA, {"extra": "sauna"}),
    (W, 3, {"extras": {"balcony": 1}}, E.UNKNOWN_EXTRA, {"extra": "balcony"}),  # not for windows
    (G, 50, {"extras": {"balcony": 2}}, E.BAD_EXTRA_COUNT, {"extra": "balcony"}),  # once only
    (G, 50, {"extras": {"oven": 0}}, E.BAD_EXTRA_COUNT, {"extra": "oven"}),
    (G, 50, {"zone": "moon"}, E.UNKNOWN_ZONE, {"zone": "moon"}),
    (G, 50, {"promo": "free"}, E.UNKNOWN_PROMO, {"promo": "FREE"}),
    (G, 50, {"promo": "old10"}, E.PROMO_EXPIRED, {"promo": "OLD10"}),
    (G, 50, {"promo": "WINTER500", "now": datetime(2027, 3, 1, 0, 1, tzinfo=MSK)},
     E.PROMO_EXPIRED, {"promo": "WINTER500"}),
    (G, 50, {"when": hours(-0.1)}, E.DATE_IN_PAST, {}),
])
# fmt: on
def test_errors_have_codes(service, quantity, kwargs, code, details):
    with pytest.raises(PricingError) as caught:
        quote(rules(), service, quantity, **{"now": NOW, **kwargs})
    assert caught.value.code is code
    assert {key: caught.value.details[key] for key in details} == details


def one_service(**fields: object) -> dict:
    return {"services": [{"id": "s", "name": name("s", "s"), "price": 10, "unit": "m2", **fields}]}


def one_extra(**fields: object) -> dict:
    return {"extras": {"x": {"name": name("x", "x"), **fields}}}


# fmt: off
@pytest.mark.parametrize("change", [
    one_extra(price=1, percent=1),                                   # two ways to charge
    one_extra(percent=5, per="each"),                                # a percent is once only
    one_extra(price=5, free_up_to=2),                                # free_up_to needs per: each
    {"promo_codes": [{"code": "A", "amount": 1}, {"code": "a", "percent": 5}]},  # code twice
    {"travel": {"far": [2000, 1000]}},                               # range upside down
    {"promo_code": []},                                              # misspelt section
    one_service(extras=["sauna"]),                                   # extra not described
    one_service(price_range={"max_price": 5, "conditions": JOB}),    # "max" below price
    one_service(quantity=[50, 10]),                                  # quantity upside down
])
# fmt: on
def test_rules_refuse_what_an_owner_could_get_wrong(change):
    with pytest.raises(ValidationError):
        rules(**change)


def test_business_yml_services_list_is_accepted_as_is():
    # What the loader will do: hand `services:` (with names, aliases, durations) to the rules.
    profile = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "business.yml").read_text(encoding="utf-8")
    )
    live = PricingRules.parse_obj(
        {**(profile.get("pricing") or {}), "services": profile["services"]}
    )
    for service_id, service in live.services.items():
        smallest = service.quantity[0] if service.quantity else 1
        assert quote(live, service_id, smallest, now=NOW).total.min >= service.min_order


def test_format_span():
    nb = "\u202f"
    assert format_span(span(12500), "RUB", "ru") == f"12{nb}500{nb}₽"
    assert format_span(span((10000, 15000)), "RUB", "en") == "RUB 10,000 – RUB 15,000"
