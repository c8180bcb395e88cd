"""The business profile (`business.yml`): loading, `${ENV}` expansion and validation.

A business owner edits this file by hand, so every error names the field that is wrong
(`services -> 2 -> price: ...`) and the process refuses to start rather than run with a
half-understood profile.
"""
from __future__ import annotations

import os
import re
from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, conint, root_validator, validator

from msgops.business.pricing_config import PricingRules

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The manager's call calendar claims time under this resource name (msgops/lead.py); a job
# resource of business.yml must not share it, or calls and jobs would block each other.
CALL_RESOURCE = "manager_calls"
_ID = r"^[a-z][a-z0-9_]*$"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "business.yml"
_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)\}")


class BusinessConfigError(ValueError):
    """Raised with a message that names every wrong field of business.yml."""


class Localized(BaseModel):
    ru: str
    en: str

    def get(self, lang: Optional[str]) -> str:
        return self.en if lang == "en" else self.ru


def _parse_hhmm(value: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValueError(f"'{value}' is not a time of day written as HH:MM") from None


class Interval(BaseModel):
    start: time
    end: time

    @classmethod
    def parse(cls, value: object) -> Interval:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"expected [\"HH:MM\", \"HH:MM\"], got {value!r}")
        start, end = _parse_hhmm(value[0]), _parse_hhmm(value[1])
        if end <= start:
            raise ValueError(f"{value[0]}-{value[1]} ends before it starts")
        return cls(start=start, end=end)


def _parse_week(value: object) -> Dict[str, Optional[Interval]]:
    if not isinstance(value, dict):
        raise ValueError("expected one line per day: mon, tue, wed, thu, fri, sat, sun")
    unknown = set(value) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
    week: Dict[str, Optional[Interval]] = {}
    for day in DAYS:
        raw = value.get(day, "closed")
        week[day] = None if raw in ("closed", None) else Interval.parse(raw)
    return week


class BusinessInfo(BaseModel):
    name: Localized
    city: Localized
    timezone: str
    currency: str = Field(..., regex=r"^[A-Z]{3}$")
    phone_region: str = Field("RU", regex=r"^[A-Z]{2}$")

    @validator("timezone")
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA timezone such as Europe/Moscow") from None
        return value


class Zone(BaseModel):
    id: str
    name: Localized
    places: List[str] = Field(..., min_items=1)


class ServiceArea(BaseModel):
    zones: List[Zone] = Field(..., min_items=1)


Unit = Literal["m2", "hour", "item", "window", "visit"]
QuoteQuestion = Literal["quantity", "extras", "address", "date", "photo"]


class Service(BaseModel):
    id: str = Field(..., regex=_ID)
    name: Localized
    aliases: List[str] = []
    price: float = Field(..., gt=0)
    unit: Unit
    duration_minutes: int = Field(..., gt=0, le=24 * 60)
    min_order: float = Field(0, ge=0)
    alternatives: List[str] = []  # cheaper services to offer when a budget is below min_order
    # What the bot asks before it quotes this service, in order (`quantity` is always asked).
    quote_questions: List[QuoteQuestion] = ["quantity", "address", "date"]
    included: Optional[Localized] = None       # shown with a quote: what the price covers
    not_included: Optional[Localized] = None   # ... and what it does not
    # The kinds of `resources:` a job takes one each of; none: the bot cannot book the service.
    needs: List[str] = []

    @validator("needs")
    def _needs_once(cls, value: List[str]) -> List[str]:
        if len(set(value)) != len(value):
            raise ValueError("a kind is listed twice")
        return value

    @validator("quote_questions")
    def _quantity_first(cls, value: List[str]) -> List[str]:
        if len(set(value)) != len(value):
            raise ValueError("a question is listed twice")
        return ["quantity", *[q for q in value if q != "quantity"]]


class Qualification(BaseModel):
    require_service_area: bool = True
    budget_below_min_order: Literal["alternative_service", "consultation", "ignore"] = (
        "alternative_service"
    )
    min_lead_time_hours: float = Field(0, ge=0)
    ask_decision_role: bool = False


class Calls(BaseModel):
    duration_minutes: int = Field(30, gt=0, le=240)
    hours: Dict[str, Optional[Interval]]
    offer_count: int = Field(3, ge=2, le=3)

    _week = validator("hours", pre=True, allow_reuse=True)(_parse_week)


class Manager(BaseModel):
    name: Localized
    webhook_url: Optional[str] = None

    @validator("webhook_url")
    def _http_url(cls, value: Optional[str]) -> Optional[str]:
        if value and not re.match(r"^https?://", value):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value or None


class FollowUp(BaseModel):
    delay_minutes: float = Field(..., gt=0)


class Quotes(BaseModel):
    """How long a quote holds, when the bot reminds about it, where urgent jobs can go."""

    valid_days: int = Field(7, gt=0, le=365)
    followup_hours: float = Field(24, gt=0)
    urgent_zones: Optional[List[str]] = None  # None: every zone takes urgent jobs
    deposit_percent: float = Field(30, ge=0, le=100)


class Resource(BaseModel):
    """A crew, a person or a machine; one job at a time."""

    id: str = Field(..., regex=_ID)
    kind: str = Field(..., regex=_ID)
    name: Localized

    @validator("id")
    def _not_the_calls(cls, value: str) -> str:
        if value == CALL_RESOURCE:
            raise ValueError(f"'{CALL_RESOURCE}' is the manager's call calendar; choose another id")
        return value


class BookingPolicy(BaseModel):
    """When a customer may cancel or move a visit for free, and what happens later than that."""

    free_until_hours: float = Field(24, ge=0)
    late_cancel: Literal["fee", "manager"] = "manager"
    late_cancel_fee: Decimal = Field(Decimal(0), ge=0)
    late_reschedule: Literal["fee", "manager"] = "manager"

    @root_validator(skip_on_failure=True)
    def _fee_when_charged(cls, values: dict) -> dict:
        if "fee" in (values["late_cancel"], values["late_reschedule"]) and not values["late_cancel_fee"]:
            raise ValueError("late_cancel_fee: a fee above 0 is needed when a late change costs `fee`")
        return values


class Bookings(BaseModel):
    """How the bot offers and books visits (process 3)."""

    # Multiples of 15: the calendar claims time in 15-minute units (availability.units).
    step_minutes: conint(gt=0, le=240, multiple_of=15) = 30  # type: ignore[valid-type]
    offer_count: int = Field(3, ge=1, le=10)
    search_days: int = Field(21, gt=0, le=366)
    min_notice_hours: float = Field(12, ge=0)
    travel_minutes: Dict[str, conint(ge=0, le=24 * 60)] = {}  # type: ignore[valid-type]
    policy: BookingPolicy = BookingPolicy()
    reminders_hours: List[float] = [24, 2]
    review_after_hours: float = Field(2, ge=0)
    maintenance_every_days: int = Field(30, gt=0)

    @validator("reminders_hours", each_item=True)
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("a reminder is some hours before the visit: use a number above 0")
        return value

    def travel(self, zone_id: Optional[str]) -> int:
        """The gap kept after a job in this zone; an unknown or unlisted zone gets the longest."""
        longest = max(self.travel_minutes.values(), default=0)
        return self.travel_minutes.get(zone_id, longest) if zone_id else longest


class BusinessConfig(BaseModel):
    business: BusinessInfo
    working_hours: Dict[str, Optional[Interval]]
    breaks: List[Interval] = []
    holidays: List[date] = []
    service_area: ServiceArea
    services: List[Service] = Field(..., min_items=1)
    qualification: Qualification = Qualification()
    calls: Calls
    manager: Manager
    followup: FollowUp
    pricing: PricingRules = PricingRules()
    quotes: Quotes = Quotes()
    resources: List[Resource] = []
    bookings: Bookings = Bookings()

    _week = validator("working_hours", pre=True, allow_reuse=True)(_parse_week)

    @validator("breaks", pre=True, each_item=True)
    def _break(cls, value: object) -> Interval:
        return Interval.parse(value)

    @root_validator(pre=True)
    def _pricing_sees_services(cls, values: dict) -> dict:
        """Base prices stay in `services:`; the pricing rules read them from there."""
        pricing = values.get("pricing") or {}
        if isinstance(pricing, dict):
            values = {**values, "pricing": {**pricing, "services": values.get("services") or []}}
        return values

    @root_validator(skip_on_failure=True)
    def _zones_exist(cls, values: dict) -> dict:
        zones = {zone.id for zone in values["service_area"].zones}
        unknown = sorted(set(values["pricing"].travel) - zones)
        if unknown:
            raise ValueError(f"pricing -> travel: no zone(s) {unknown} in service_area")
        unknown = sorted(set(values["quotes"].urgent_zones or []) - zones)
        if unknown:
            raise ValueError(f"quotes -> urgent_zones: no zone(s) {unknown} in service_area")
        unknown = sorted(set(values["bookings"].travel_minutes) - zones)
        if unknown:
            raise ValueError(f"bookings -> travel_minutes: no zone(s) {unknown} in service_area")
        return values

    @root_validator(skip_on_failure=True)
    def _unique_ids(cls, values: dict) -> dict:
        for field, items in (("services", values["services"]),
                             ("service_area -> zones", values["service_area"].zones),
                             ("resources", values["resources"])):
            seen = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"{field}: id '{item.id}' is used twice")
                seen.add(item.id)
        ids = {s.id for s in values["services"]}
        for index, service in enumerate(values["services"]):
            unknown = [a for a in service.alternatives if a not in ids]
            if unknown:
                raise ValueError(f"services -> {index} -> alternatives: unknown service id(s) {unknown}")
        return values

    @root_validator(skip_on_failure=True)
    def _needs_have_resources(cls, values: dict) -> dict:
        kinds = {r.kind for r in values["resources"]}
        for index, service in enumerate(values["services"]):
            missing = [k for k in service.needs if k not in kinds]
            if missing:
                raise ValueError(f"services -> {index} -> needs: no resource of kind(s) {missing} in resources")
        return values

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.business.timezone)

    def service(self, service_id: str) -> Optional[Service]:
        return next((s for s in self.services if s.id == service_id), None)

    def resources_of(self, kind: str) -> List[Resource]:
        return [r for r in self.resources if r.kind == kind]

    def resource(self, resource_id: str) -> Optional[Resource]:
        return next((r for r in self.resources if r.id == resource_id), None)


def _expand_env(node: object) -> object:
    """Replace `${VAR}` with the variable's value; an unset variable reads as empty."""
    if isinstance(node, str):
        expanded = _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), node)
        return None if _ENV_REF.fullmatch(node) and not expanded else expanded
    if isinstance(node, list):
        return [_expand_env(item) for item in node]
    if isinstance(node, dict):
        return {key: _expand_env(value) for key, value in node.items()}
    return node


def _format_errors(error: ValidationError, path: Union[str, Path]) -> str:
    lines = [f"{path} is not valid:"]
    for item in error.errors():
        where = " -> ".join(str(part) for part in item["loc"] if part != "__root__")
        lines.append(f"  {where or '(top level)'}: {item['msg']}")
    return "\n".join(lines)


def load_business(path: Union[str, Path, None] = None) -> BusinessConfig:
    """Read and validate a business profile; raise BusinessConfigError naming bad fields."""
    path = Path(path or os.environ.get("MSGOPS_BUSINESS_FILE") or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BusinessConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise BusinessConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise BusinessConfigError(f"{path} must be a mapping of sections (business:, services:, ...)")
    try:
        return BusinessConfig.parse_obj(_expand_env(raw))
    except ValidationError as exc:
        raise BusinessConfigError(_format_errors(exc, path)) from exc


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> BusinessConfig:
    return load_business(path)


def business() -> BusinessConfig:
    """The current profile, re-read when the file changes so an owner's edit needs no restart."""
    path = Path(os.environ.get("MSGOPS_BUSINESS_FILE") or DEFAULT_PATH)
    return _cached(str(path), path.stat().st_mtime)

