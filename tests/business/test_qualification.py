"""Qualification rules from business.yml, and the alternative each failure leads to."""
from datetime import datetime, timedelta

import pytest

from msgops.business.config import load_business
from msgops.business.qualification import qualify

CFG = load_business()
NOW = datetime(2026, 12, 3, 22, 40, tzinfo=CFG.tz)


def _qualify(cfg=CFG, **overrides):
    args = dict(service_id="general_cleaning", location="Химки", timing_start=NOW + timedelta(days=1),
                budget=None, decision_maker=None, now=NOW)
    args.update(overrides)
    return qualify(cfg, **args)


def test_fitting_lead_qualifies():
    verdict = _qualify()
    assert verdict.qualified and verdict.zone == "near" and verdict.reasons == []


def test_outside_area_gets_alternative():
    verdict = _qualify(location="Тверь")
    assert not verdict.qualified and verdict.alternative == "out_of_area"


def test_low_budget_offers_cheaper_services():
    verdict = _qualify(budget="4000 RUB")
    assert verdict.alternative == "low_budget"
    # the profile lists regular cleaning (min 3500) and windows (min 2700): both fit 4000
    assert verdict.details["alternatives"] == ["regular_cleaning", "window_cleaning"]
    assert _qualify(budget="3000 RUB").details["alternatives"] == ["window_cleaning"]
    assert _qualify(budget="1000 RUB").details["alternatives"] == []


def test_budget_at_minimum_qualifies():
    assert _qualify(budget="6000 RUB").qualified


@pytest.mark.parametrize("hours, qualified", [(1, False), (3.9, False), (4.1, True)])
def test_urgency(hours, qualified):
    assert _qualify(timing_start=NOW + timedelta(hours=hours)).qualified is qualified


def test_first_failing_rule_names_the_alternative_and_all_reasons_are_kept():
    verdict = _qualify(location="Тверь", budget="1000 RUB")
    assert verdict.alternative == "out_of_area" and len(verdict.reasons) == 2


def test_decision_role_only_when_configured():
    assert _qualify(decision_maker=False).qualified
    strict = CFG.copy(deep=True)
    strict.qualification.ask_decision_role = True
    assert _qualify(cfg=strict, decision_maker=False).alternative == "not_decision_maker"
    assert _qualify(cfg=strict, decision_maker=True).qualified
