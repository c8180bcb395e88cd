"""Whether a lead is worth a manager's call, by the rules in business.yml.

A lead that fails a rule is not dropped: the first failing rule names the alternative the
customer is offered, and the lead is recorded with the reasons, so the owner can see what
the rules cost them and change them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional

from msgops.business.area import find_zone
from msgops.business.config import BusinessConfig, Service
from msgops.business.money import parse_money


@dataclass
class Verdict:
    qualified: bool
    zone: Optional[str]
    reasons: List[str] = field(default_factory=list)
    alternative: Optional[str] = None  # out_of_area | low_budget | too_urgent | not_decision_maker
    details: Dict[str, object] = field(default_factory=dict)


def cheaper_services(cfg: BusinessConfig, budget: float, service: Service) -> List[Service]:
    """The owner's listed alternatives to a service that fit the budget, dearest first."""
    options = [cfg.service(a) for a in service.alternatives]
    return sorted((s for s in options if s and s.min_order <= budget), key=lambda s: -s.min_order)


def outside_the_area(location: Optional[str], cfg: BusinessConfig) -> bool:
    """Whether the place alone disqualifies a lead: the owner requires the service area and
    no zone names it. The lead form stops asking then; `qualify` records it as a reason."""
    return bool(location) and cfg.qualification.require_service_area and find_zone(location, cfg) is None


def qualify(
    cfg: BusinessConfig,
    *,
    service_id: str,
    location: str,
    timing_start: Optional[datetime],
    budget: Optional[str],
    decision_maker: Optional[bool],
    now: datetime,
) -> Verdict:
    rules = cfg.qualification
    zone = find_zone(location or "", cfg)
    verdict = Verdict(qualified=True, zone=zone.id if zone else None)

    def fail(reason: str, alternative: str, **details: object) -> None:
        verdict.reasons.append(reason)
        if verdict.qualified:
            verdict.qualified = False
            verdict.alternative = alternative
            verdict.details.update(details)

    if rules.require_service_area and zone is None:
        fail("outside the service area", "out_of_area")

    service = cfg.service(service_id)
    money = parse_money(budget) if budget else None
    if service and money and rules.budget_below_min_order != "ignore":
        amount = float(money[0])
        if amount < service.min_order:
            options = cheaper_services(cfg, amount, service)
            fail(f"budget {budget} below the minimum order {service.min_order:g}", "low_budget",
                 alternatives=[s.id for s in options])

    if timing_start and rules.min_lead_time_hours:
        if timing_start < now + timedelta(hours=rules.min_lead_time_hours):
            fail(f"wants it sooner than {rules.min_lead_time_hours:g} h", "too_urgent")

    if rules.ask_decision_role and decision_maker is False:
        fail("does not decide on the order", "not_decision_maker")
    return verdict
