"""Quotes: what an order costs under the owner's pricing rules, line by line.

The order of the arithmetic is fixed, because a customer who asks "why this much?" and a
manager who checks the bot must arrive at the same number by hand:

1. the service: price per unit x quantity;
2. extras: a fixed price (once, per each, or per service unit) or a percent of line 1;
3. the minimum order: if 1 + 2 is below it, a top-up line brings it up to it;
4. urgency: a percent of 1-3 when the job starts sooner than the tier's hours;
5. travel to the customer's zone;
   subtotal = 1-5;
6. discounts reduce 1-4, never travel: only the best automatic percentage (volume tier
   or first order) applies, then a promo code on what is left (a percent of it, or a
   fixed amount, never more than what is left);
7. tax: when prices include it, it is only shown ("incl. VAT"); otherwise it is added;
8. rounding of the final total to `round_to`, half up, once.

Every line is rounded to kopecks (cents) half up as it is made. A price that depends on
condition is priced twice, at `price` and at the range's high end, and every amount of
the quote is a Span from the first to the second; a travel range widens it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from msgops.business.money import format_money
from msgops.business.pricing_config import AddOn, PricingRules, Promo, ServicePrice, Text

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# Units a customer orders in whole numbers; m² and hours may be fractional (45.5 m², 2.5 h).
WHOLE_UNITS = ("item", "window", "visit")

SERVICE = "service"
MIN_ORDER = "min_order"
URGENCY = "urgency"
TRAVEL = "travel"
VOLUME = "volume"
FIRST_ORDER = "first_order"
TAX = "tax"

_LABELS = {
    MIN_ORDER: Text(ru="Доплата до минимального заказа", en="Top-up to the minimum order"),
    URGENCY: Text(ru="Срочный заказ", en="Urgent order"),
    TRAVEL: Text(ru="Выезд", en="Travel"),
    VOLUME: Text(ru="Скидка за объём", en="Volume discount"),
    FIRST_ORDER: Text(ru="Скидка на первый заказ", en="First order discount"),
}
TRAVEL_RANGE = Text(
    ru="Стоимость выезда зависит от точного адреса.",
    en="The travel cost depends on the exact address.",
)
TRAVEL_NOT_INCLUDED = Text(
    ru="Без учёта выезда: его стоимость зависит от адреса.",
    en="Travel is not included: its cost depends on the address.",
)


class PricingErrorCode(str, Enum):
    """What went wrong, as a stable code the bot maps to a reply (utter_price_<code>)."""

    UNKNOWN_SERVICE = "unknown_service"
    BAD_QUANTITY = "bad_quantity"  # not a number, <= 0, or a fraction of a whole unit
    QUANTITY_OUT_OF_RANGE = "quantity_out_of_range"  # details: min, max
    UNKNOWN_EXTRA = "unknown_extra"  # details: extra (also: not offered for this service)
    BAD_EXTRA_COUNT = "bad_extra_count"  # details: extra
    UNKNOWN_ZONE = "unknown_zone"  # details: zone
    UNKNOWN_PROMO = "unknown_promo"  # details: promo
    PROMO_EXPIRED = "promo_expired"  # details: promo, expires
    DATE_IN_PAST = "date_in_past"


class PricingError(ValueError):
    """A request the rules cannot price; `code` and `details` are for the bot's reply."""

    def __init__(self, code: PricingErrorCode, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Span:
    """An amount in the cheapest case (`min`) and in the dearest case (`max`); equal when
    the price is fixed. Totals never decrease from one case to the other, but a single
    line can: the minimum-order top-up shrinks as the work gets dearer."""

    min: Decimal
    max: Decimal

    @property
    def is_range(self) -> bool:
        return self.min != self.max


@dataclass(frozen=True)
class Line:
    """One row of a quote. `quantity` and `unit_price` are set for rows priced per unit,
    `percent` for rows that are a percentage of something else."""

    # service, extra:<id>, min_order, urgency, travel, volume, first_order, promo:<CODE>, tax
    code: str
    label: Text
    amount: Span
    quantity: Optional[Decimal] = None
    unit_price: Optional[Span] = None
    percent: Optional[Decimal] = None


@dataclass(frozen=True)
class Quote:
    """total = subtotal - discount_total + (tax unless tax_included) + rounding."""

    service_id: str
    quantity: Decimal
    unit: str
    lines: Tuple[Line, ...]
    subtotal: Span
    discounts: Tuple[Line, ...]
    discount_total: Span
    tax: Optional[Line]
    tax_included: bool
    rounding: Span
    total: Span
    conditions: Tuple[Text, ...]

    @property
    def is_range(self) -> bool:
        return self.total.is_range


class _Row(NamedTuple):
    code: str
    label: Text
    amount: Decimal
    quantity: Optional[Decimal] = None
    unit_price: Optional[Decimal] = None
    percent: Optional[Decimal] = None


class _Sheet(NamedTuple):
    """One case (cheapest or dearest) worked out in plain Decimals."""

    lines: List[_Row]
    discounts: List[_Row]
    tax: Optional[_Row]
    rounding: Decimal
    total: Decimal


class _Order(NamedTuple):
    """A validated request: what both cases share."""

    service: ServicePrice
    quantity: Decimal
    extras: List[Tuple[str, AddOn, int]]
    urgency: Optional[Decimal]
    automatic: Optional[Tuple[str, Decimal]]
    promo: Optional[Promo]


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _share(amount: Decimal, percent: Decimal) -> Decimal:
    return _cents(amount * percent / HUNDRED)


def _round_to(amount: Decimal, step: Decimal) -> Decimal:
    return _cents((amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def quote(
    rules: PricingRules,
    service_id: str,
    quantity: Union[Decimal, int, float, str],
    *,
    extras: Optional[Mapping[str, int]] = None,
    zone: Optional[str] = None,
    when: Optional[datetime] = None,
    now: datetime,
    first_order: bool = False,
    promo: Optional[str] = None,
) -> Quote:
    """Price an order, or raise PricingError with a code the bot can explain.

    `extras` maps extra ids to a count: 1 for once-only extras, the number of items for
    `per: each` ones (for "no lift", the floor number). `zone` None means the address is
    not known yet: travel is left out and a condition says so. `when` None means no date
    yet, so no urgency. `now` must be in the business timezone: a promo code's `expires`
    is compared with its calendar date.
    """
    service = rules.services.get(service_id)
    if service is None:
        raise PricingError(PricingErrorCode.UNKNOWN_SERVICE, f"no service '{service_id}'")
    amount = _quantity(service, quantity)
    order = _Order(
        service=service,
        quantity=amount,
        extras=_extras(rules, service, dict(extras or {})),
        urgency=_urgency(rules, when, now),
        automatic=_automatic_discount(rules, service, amount, first_order),
        promo=_promo(rules, promo, now),
    )
    travel = _travel(rules, zone)
    low = _sheet(rules, order, service.price, travel[0])
    high = _sheet(rules, order, service.high_price, travel[1])

    conditions = [service.price_range.conditions] if service.price_range else []
    if travel[0] != travel[1]:
        conditions.append(TRAVEL_RANGE)
    if zone is None and any(high_price for _, high_price in rules.travel.values()):
        conditions.append(TRAVEL_NOT_INCLUDED)
    lines, discounts = _merge(low.lines, high.lines), _merge(low.discounts, high.discounts)
    return Quote(
        service_id=service_id,
        quantity=order.quantity,
        unit=service.unit,
        lines=lines,
        subtotal=_total(lines),
        discounts=discounts,
        discount_total=_total(discounts),
        tax=_merge([low.tax], [high.tax])[0] if low.tax and high.tax else None,
        tax_included=bool(rules.tax and rules.tax.included),
        rounding=Span(low.rounding, high.rounding),
        total=Span(low.total, high.total),
        conditions=tuple(conditions),
    )


def format_span(amount: Span, currency: str, lang: Optional[str]) -> str:
    """A total as the customer reads it: 9 000 ₽, or 10 000 ₽ – 15 000 ₽ for a range. Each
    end is written in full so no reader wonders which currency the first number is in."""
    low, high = (format_money(value, currency, lang) for value in (amount.min, amount.max))
    return f"{low} – {high}" if amount.is_range else low


def _quantity(service: ServicePrice, raw: Union[Decimal, int, float, str]) -> Decimal:
    try:
        quantity = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        quantity = Decimal("NaN")
    if (
        not quantity.is_finite()
        or quantity <= 0
        or (service.unit in WHOLE_UNITS and quantity != quantity.to_integral_value())
    ):
        raise PricingError(PricingErrorCode.BAD_QUANTITY, f"cannot order {raw!r} {service.unit}")
    if service.quantity and not service.quantity[0] <= quantity <= service.quantity[1]:
        low, high = service.quantity
        raise PricingError(
            PricingErrorCode.QUANTITY_OUT_OF_RANGE,
            f"{quantity} {service.unit} is outside {low}-{high}",
            min=low,
            max=high,
        )
    return quantity


def _extras(
    rules: PricingRules, service: ServicePrice, wanted: Dict[str, int]
) -> List[Tuple[str, AddOn, int]]:
    chosen = []
    for extra_id, count in wanted.items():
        extra = rules.extras.get(extra_id)
        if extra is None or extra_id not in service.extras:
            raise PricingError(
                PricingErrorCode.UNKNOWN_EXTRA,
                f"no extra '{extra_id}' for this service",
                extra=extra_id,
            )
        once = extra.per != "each"
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or count < 1
            or (once and count != 1)
        ):
            raise PricingError(
                PricingErrorCode.BAD_EXTRA_COUNT,
                f"extra '{extra_id}' cannot be ordered {count!r} times",
                extra=extra_id,
            )
        chosen.append((extra_id, extra, count))
    return chosen


def _urgency(rules: PricingRules, when: Optional[datetime], now: datetime) -> Optional[Decimal]:
    """The highest percent of the tiers whose window (strictly less than `within_hours`
    before the start) the job falls in."""
    if now.tzinfo is None or (when is not None and when.tzinfo is None):
        raise ValueError("now and when must be timezone-aware")
    if when is None:
        return None
    if when < now:
        raise PricingError(PricingErrorCode.DATE_IN_PAST, f"{when.isoformat()} has passed")
    lead = when - now
    percents = [
        tier.percent for tier in rules.urgency if lead < timedelta(hours=float(tier.within_hours))
    ]
    return max(percents, default=None)


def _promo(rules: PricingRules, code: Optional[str], now: datetime) -> Optional[Promo]:
    if code is None or not code.strip():
        return None
    wanted = code.strip().upper()
    promo = next((p for p in rules.promo_codes if p.code == wanted), None)
    if promo is None:
        raise PricingError(
            PricingErrorCode.UNKNOWN_PROMO, f"no promo code '{wanted}'", promo=wanted
        )
    if promo.expires is not None and now.date() > promo.expires:
        raise PricingError(
            PricingErrorCode.PROMO_EXPIRED,
            f"promo code '{wanted}' ended {promo.expires}",
            promo=wanted,
            expires=promo.expires,
        )
    return promo


def _automatic_discount(
    rules: PricingRules, service: ServicePrice, quantity: Decimal, first_order: bool
) -> Optional[Tuple[str, Decimal]]:
    """The single best percentage the customer qualifies for without a code."""
    candidates = [
        (VOLUME, tier.percent)
        for tier in rules.discounts.volume
        if tier.unit == service.unit and quantity >= tier.from_
    ]
    if first_order and rules.discounts.first_order:
        candidates.append((FIRST_ORDER, rules.discounts.first_order))
    return max(candidates, key=lambda c: c[1], default=None)


def _travel(rules: PricingRules, zone: Optional[str]) -> Tuple[Decimal, Decimal]:
    """No zone yet, or no travel prices written at all: travel costs nothing in the quote."""
    if zone is None or not rules.travel:
        return Decimal(0), Decimal(0)
    if zone not in rules.travel:
        raise PricingError(
            PricingErrorCode.UNKNOWN_ZONE, f"no travel price for zone '{zone}'", zone=zone
        )
    return rules.travel[zone]


def _extra_row(extra_id: str, extra: AddOn, count: int, base: Decimal, quantity: Decimal) -> _Row:
    code = f"extra:{extra_id}"
    if extra.percent is not None:
        return _Row(code, extra.name, _share(base, extra.percent), percent=extra.percent)
    times = {
        "order": Decimal(1),
        "each": Decimal(max(count - extra.free_up_to, 0)),
        "unit": quantity,
    }[extra.per]
    return _Row(code, extra.name, _cents(extra.price * times), times, extra.price)


def _sheet(rules: PricingRules, order: _Order, unit_price: Decimal, travel: Decimal) -> _Sheet:
    unit_price = _cents(unit_price)
    base = _cents(unit_price * order.quantity)
    lines = [_Row(SERVICE, order.service.name, base, order.quantity, unit_price)]
    lines += [
        _extra_row(extra_id, extra, count, base, order.quantity)
        for extra_id, extra, count in order.extras
    ]
    work = sum(row.amount for row in lines)
    if work < order.service.min_order:
        lines.append(_Row(MIN_ORDER, _LABELS[MIN_ORDER], order.service.min_order - work))
        work = order.service.min_order
    if order.urgency:
        surcharge = _share(work, order.urgency)
        lines.append(_Row(URGENCY, _LABELS[URGENCY], surcharge, percent=order.urgency))
        work += surcharge
    if travel:
        lines.append(_Row(TRAVEL, _LABELS[TRAVEL], _cents(travel)))

    discounts: List[_Row] = []
    left = work
    if order.automatic:
        kind, percent = order.automatic
        discounts.append(_Row(kind, _LABELS[kind], _share(left, percent), percent=percent))
        left -= discounts[-1].amount
    if order.promo:
        promo = order.promo
        amount = (
            _share(left, promo.percent)
            if promo.percent is not None
            else _cents(min(promo.amount, left))
        )
        label = Text(ru=f"Промокод {promo.code}", en=f"Promo code {promo.code}")
        discounts.append(_Row(f"promo:{promo.code}", label, amount, percent=promo.percent))

    net = sum(row.amount for row in lines) - sum(row.amount for row in discounts)
    tax, added = None, Decimal(0)
    if rules.tax and rules.tax.included:
        total = _round_to(net, rules.round_to)
        tax = _Row(
            TAX,
            rules.tax.name,
            _cents(total * rules.tax.rate / (HUNDRED + rules.tax.rate)),
            percent=rules.tax.rate,
        )
    else:
        if rules.tax:
            tax = _Row(TAX, rules.tax.name, _share(net, rules.tax.rate), percent=rules.tax.rate)
            added = tax.amount
        total = _round_to(net + added, rules.round_to)
    return _Sheet(lines, discounts, tax, total - net - added, total)


def _merge(low: List[_Row], high: List[_Row]) -> Tuple[Line, ...]:
    """Pair the rows of the two cases by code. A row can exist in one case only (the
    minimum-order top-up when the dearest case clears the minimum); it is 0 in the other."""
    by_code_low = {row.code: row for row in low}
    by_code_high = {row.code: row for row in high}
    merged = []
    for code in dict.fromkeys([row.code for row in low] + [row.code for row in high]):
        a, b = by_code_low.get(code), by_code_high.get(code)
        ref = a or b
        unit_price = None
        if a is not None and b is not None and a.unit_price is not None:
            unit_price = Span(a.unit_price, b.unit_price)
        merged.append(
            Line(
                code=code,
                label=ref.label,
                amount=Span(a.amount if a else Decimal(0), b.amount if b else Decimal(0)),
                quantity=ref.quantity,
                unit_price=unit_price,
                percent=ref.percent,
            )
        )
    return tuple(merged)


def _total(lines: Tuple[Line, ...]) -> Span:
    return Span(
        sum((line.amount.min for line in lines), Decimal(0)),
        sum((line.amount.max for line in lines), Decimal(0)),
    )
