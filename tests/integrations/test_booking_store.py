"""The booking process against a real store (SQLite always, PostgreSQL when it answers).

Profile: tests/booking_profile.py; "now" is Thursday 3 Dec 22:40 Moscow. A window cleaning
takes 2 h and one crew; the city's travel gap is 30 min, so a visit at 10:00 claims
10:00-12:30 of its crew, ten 15-minute units.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Dict, List, Tuple

import pytest
from sqlalchemy import select

from msgops import booking
from msgops.booking import BookingAnswers, PolicyRefused, SlotTaken
from msgops.conversation import Conversation
from msgops.store import session_scope
from msgops.store.models import Booking, Brief, MetricEvent, Quote, ResourceClaim, Review, ScheduledJob
from tests.booking_profile import NOW, UPHOLSTERY, WINDOWS, msk, use_profile

UTC = timezone.utc
MON_10 = msk(7, "10:00")


@pytest.fixture
def cfg(db, tmp_path, monkeypatch):
    return use_profile(tmp_path, monkeypatch)


def chat(cid: str = "c1", channel: str = "rest") -> Conversation:
    return Conversation(cid, channel, "ru", "последнее сообщение")


def answers(start: datetime = MON_10, service: str = WINDOWS, address: str = "Москва, Арбат 1",
            contact: str = "+79161234567") -> BookingAnswers:
    return BookingAnswers(service=service, address=address, slot=start.isoformat(), customer_name="Ольга",
                          contact=contact, notes="код 12")


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def jobs() -> Dict[str, Tuple[str, str, datetime]]:
    with session_scope() as s:
        rows = s.execute(select(ScheduledJob)).scalars().all()
        return {j.ref: (j.kind, j.status, aware(j.due_at)) for j in rows}


def claims(owner: str = None) -> List[Tuple[str, datetime]]:
    query = select(ResourceClaim.resource, ResourceClaim.unit_start).order_by(ResourceClaim.unit_start)
    with session_scope() as s:
        rows = s.execute(query if owner is None else query.where(ResourceClaim.owner == owner)).all()
    return [(r, aware(u)) for r, u in rows]


def metric_names() -> List[str]:
    with session_scope() as s:
        return sorted(s.execute(select(MetricEvent.name).where(MetricEvent.process == "booking")).scalars())


def briefs() -> List[Brief]:
    with session_scope() as s:
        return s.execute(select(Brief).order_by(Brief.id)).scalars().all()


def fill(resource_ids, start: datetime, end: datetime) -> None:
    """Other customers' visits: every listed resource busy over [start, end)."""
    from msgops.business.availability import units

    with session_scope() as s:
        s.add_all(ResourceClaim(resource=r, unit_start=u, owner="booking:other") for r in resource_ids
                  for u in units(start, end))


def test_book_claims_links_schedules_and_briefs(cfg):
    with session_scope() as s:
        s.add(Quote(contact_id=_contact(s), conversation_id="c1", channel="rest", service=WINDOWS, quantity="6",
                    unit="window", total_min="5400", total_max="5400", currency="RUB", status="accepted",
                    valid_until=NOW + timedelta(days=7)))
    view = booking.book(chat(), answers(), cfg, NOW)
    assert (view.start, view.end, view.status, view.zone) == (MON_10, msk(7, "12:00"), booking.BOOKED, "city")
    assert view.resources == ["crew_1"] and view.start.tzinfo == cfg.tz and view.fee is None
    assert view.ics_url.startswith(f"http://localhost:8080/bookings/{view.id}.ics?t=")
    # 10:00-12:00 + 30 min travel = ten units of crew_1
    assert claims(f"booking:{view.id}") == [("crew_1", MON_10.astimezone(UTC) + timedelta(minutes=15 * i))
                                            for i in range(10)]
    key = f"booking:{view.id}:20261207T0700"
    assert jobs() == {
        f"{key}:24h": (booking.REMINDER_KIND, "pending", msk(6, "10:00")),
        f"{key}:2h": (booking.REMINDER_KIND, "pending", msk(7, "08:00")),
        key: (booking.REVIEW_KIND, "pending", msk(7, "14:00")),
    }
    with session_scope() as s:
        row = s.get(Booking, view.id)
        assert row.quote_id is not None and row.customer.phone == "+79161234567" and row.contact == "+79161234567"
        payloads = {j.ref: j.payload for j in s.execute(select(ScheduledJob)).scalars()}
    assert payloads[f"{key}:24h"] == {"booking_id": str(view.id), "hours": "24"}
    assert payloads[key] == {"booking_id": str(view.id)}
    (brief,) = briefs()
    assert brief.intent == "book" and brief.fields["resources"] == "Crew 1" and brief.fields["notes"] == "код 12"
    assert metric_names() == ["booked"]


def _contact(s) -> int:
    from msgops.integrations import crm

    return crm.upsert_contact(s, channel="rest", external_id="c1").id


def test_reminders_already_past_are_skipped(cfg):
    view = booking.book(chat(), answers(msk(4, "11:00")), cfg, NOW)  # 12 h 20 min ahead
    kinds = sorted((kind, due) for kind, _, due in jobs().values())
    assert kinds == [(booking.REMINDER_KIND, msk(4, "09:00")), (booking.REVIEW_KIND, msk(4, "15:00"))]
    assert view.start == msk(4, "11:00")


def test_second_customer_gets_the_other_crew_third_gets_slot_taken(cfg):
    first = booking.book(chat("a"), answers(contact="+79160000001"), cfg, NOW)
    second = booking.book(chat("b"), answers(contact="+79160000002"), cfg, NOW)
    assert (first.resources, second.resources) == (["crew_1"], ["crew_2"])
    with pytest.raises(SlotTaken):
        booking.book(chat("c"), answers(contact="+79160000003"), cfg, NOW)
    with session_scope() as s:
        assert len(s.execute(select(Booking)).scalars().all()) == 2  # the loser left nothing


def test_book_needs_one_of_each_kind(cfg):
    fill(["extractor_1"], MON_10, msk(7, "12:00"))
    with pytest.raises(SlotTaken):
        booking.book(chat(), answers(service=UPHOLSTERY), cfg, NOW)
    view = booking.book(chat(), answers(msk(7, "14:00"), service=UPHOLSTERY), cfg, NOW)
    assert view.resources == ["crew_1", "extractor_1"]


@pytest.mark.parametrize("start", [msk(4, "10:00"), msk(6, "11:00"), msk(7, "10:10"), msk(7, "12:00")])
def test_book_refuses_times_outside_the_rules(cfg, start):
    """Inside the notice, a Sunday, off the grid, running into lunch: never booked."""
    with pytest.raises(SlotTaken):
        booking.book(chat(), answers(start), cfg, NOW)


def test_book_needs_a_bookable_service_and_a_time(cfg):
    with pytest.raises(ValueError):
        booking.book(chat(), answers(service="sauna"), cfg, NOW)
    with pytest.raises(ValueError):
        booking.book(chat(), BookingAnswers(service=WINDOWS, slot="tomorrow"), cfg, NOW)


# --- policy --------------------------------------------------------------------------------------

@pytest.mark.parametrize("before, action, free, outcome, fee", [
    (timedelta(hours=24), "cancel", True, "free", None),               # exactly 24 h: still free
    (timedelta(hours=24, minutes=-1), "cancel", False, "fee", Decimal(1000)),
    (timedelta(hours=24), "reschedule", True, "free", None),
    (timedelta(hours=23), "reschedule", False, "manager", None),
    (timedelta(hours=-1), "cancel", False, "fee", Decimal(1000)),     # the visit has begun
])
def test_policy_at_the_24_hour_boundary(cfg, before, action, free, outcome, fee):
    view = booking.book(chat(), answers(), cfg, NOW)
    verdict = booking.policy(cfg, view, MON_10 - before, action)
    assert (verdict.free, verdict.action, verdict.outcome, verdict.fee) == (free, action, outcome, fee)
    assert verdict.free_until == msk(6, "10:00") and verdict.hours_left == pytest.approx(before.total_seconds() / 3600)
    with pytest.raises(ValueError):
        booking.policy(cfg, view, NOW, "delete")


# --- cancel ---------------------------------------------------------------------------------------

def test_free_cancel_frees_the_time_and_stops_the_jobs(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    done = booking.cancel(chat(), view.id, cfg, NOW, "передумала")
    assert done.status == booking.CANCELLED and done.fee is None
    assert claims() == [] and {status for _, status, _ in jobs().values()} == {"cancelled"}
    assert booking.reminder_due(view.id, "24") is None
    assert metric_names() == ["booked", "cancelled"]
    with session_scope() as s:
        assert s.get(Booking, view.id).cancel_reason == "передумала"
    with pytest.raises(ValueError):  # not booked any more
        booking.cancel(chat(), view.id, cfg, NOW, None)
    assert booking.book(chat("b"), answers(), cfg, NOW).resources == ["crew_1"]  # the crew is free again


def test_late_cancel_charges_the_fee(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    late = MON_10 - timedelta(hours=5)
    done = booking.cancel(chat(), view.id, cfg, late, None)
    assert done.status == booking.CANCELLED and done.fee == Decimal(1000)
    assert claims() == [] and metric_names() == ["booked", "cancelled", "late_cancel"]
    assert "charge the late-cancellation fee of 1000 RUB" in briefs()[-1].next_step


def test_late_cancel_left_to_the_manager_keeps_the_visit(db, tmp_path, monkeypatch):
    cfg = use_profile(tmp_path, monkeypatch, {"late_cancel": "manager"})
    view = booking.book(chat(), answers(), cfg, NOW)
    held = claims()
    done = booking.cancel(chat(), view.id, cfg, MON_10 - timedelta(hours=5), "заболела")
    assert done.status == booking.CANCEL_REQUESTED and done.fee is None
    assert claims() == held and {status for _, status, _ in jobs().values()} == {"pending"}
    assert briefs()[-1].intent == "cancel_booking" and briefs()[-1].fields["reason"] == "заболела"
    assert booking.reminder_due(view.id, "2") is None  # the customer asked to cancel: no reminder


def test_another_customers_booking_cannot_be_touched(cfg):
    view = booking.book(chat("a"), answers(contact="+79160000001"), cfg, NOW)
    with pytest.raises(ValueError):
        booking.cancel(chat("stranger"), view.id, cfg, NOW, None)
    with pytest.raises(ValueError):
        booking.reschedule(chat("stranger"), view.id, msk(9, "10:00"), cfg, NOW, None)
    with pytest.raises(ValueError):
        booking.cancel(chat("a"), 9999, cfg, NOW, None)


# --- reschedule -----------------------------------------------------------------------------------

def test_reschedule_moves_time_claims_and_jobs(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    old_jobs = set(jobs())
    moved = booking.reschedule(chat(), view.id, msk(9, "14:00"), cfg, NOW, "работа")
    assert (moved.start, moved.end, moved.status, moved.resources) == (msk(9, "14:00"), msk(9, "16:00"),
                                                                        booking.BOOKED, ["crew_1"])
    assert claims()[0] == ("crew_1", msk(9, "14:00").astimezone(UTC)) and len(claims()) == 10
    now_jobs = jobs()
    assert {ref for ref in old_jobs if now_jobs[ref][1] == "cancelled"} == old_jobs
    key = f"booking:{view.id}:20261209T1100"
    assert {ref: due for ref, (_, status, due) in now_jobs.items() if status == "pending"} == {
        f"{key}:24h": msk(8, "14:00"), f"{key}:2h": msk(9, "12:00"), key: msk(9, "18:00")}
    with session_scope() as s:
        row = s.get(Booking, view.id)
        assert row.reschedule_reason == "работа"
        assert row.history == [{"at": NOW.astimezone(UTC).isoformat(), "from": MON_10.astimezone(UTC).isoformat(),
                                "to": msk(9, "14:00").astimezone(UTC).isoformat(), "reason": "работа"}]
    assert metric_names() == ["booked", "rescheduled"]


def test_reschedule_by_half_an_hour_overlapping_its_own_time(cfg):
    fill(["crew_2"], msk(7, "09:00"), msk(7, "18:00"))
    view = booking.book(chat(), answers(), cfg, NOW)
    moved = booking.reschedule(chat(), view.id, msk(7, "10:30"), cfg, NOW, None)
    assert moved.start == msk(7, "10:30") and claims(f"booking:{view.id}")[0][1] == msk(7, "10:30").astimezone(UTC)


def test_reschedule_to_a_taken_time_leaves_the_booking_intact(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    before_claims, before_jobs = claims(), jobs()
    fill(["crew_1", "crew_2"], msk(9, "14:00"), msk(9, "18:00"))
    with pytest.raises(SlotTaken):
        booking.reschedule(chat(), view.id, msk(9, "14:00"), cfg, NOW, None)
    assert [c for c in claims() if c in before_claims] == before_claims and jobs() == before_jobs
    assert booking.upcoming("c1", NOW).start == MON_10
    assert metric_names() == ["booked"]


def test_late_reschedule_goes_to_a_person(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    with pytest.raises(PolicyRefused) as refused:
        booking.reschedule(chat(), view.id, msk(9, "14:00"), cfg, MON_10 - timedelta(hours=3), "опаздываю")
    assert refused.value.verdict.outcome == "manager"
    assert briefs()[-1].intent == "reschedule" and briefs()[-1].fields["reason"] == "опаздываю"
    assert booking.upcoming("c1", NOW).start == MON_10


def test_late_reschedule_with_a_fee(db, tmp_path, monkeypatch):
    cfg = use_profile(tmp_path, monkeypatch, {"late_reschedule": "fee"})
    view = booking.book(chat(), answers(), cfg, NOW)
    moved = booking.reschedule(chat(), view.id, msk(9, "14:00"), cfg, MON_10 - timedelta(hours=3), None)
    assert moved.fee == Decimal(1000) and "late-change fee" in briefs()[-1].next_step


# --- after the booking ------------------------------------------------------------------------------

def test_reminder_due_only_for_the_booking_as_it_stands(cfg, monkeypatch):
    view = booking.book(chat(), answers(), cfg, NOW)
    monkeypatch.setenv("MSGOPS_NOW", msk(7, "08:00").isoformat())
    assert booking.reminder_due(view.id, "2").id == view.id
    booking.reschedule(chat(), view.id, msk(9, "14:00"), cfg, NOW, None)
    # the old 2 h job, had it fired: the moved visit is two days away
    assert booking.reminder_due(view.id, "2") is None
    monkeypatch.setenv("MSGOPS_NOW", msk(9, "12:00").isoformat())
    assert booking.reminder_due(view.id, "2").start == msk(9, "14:00")
    monkeypatch.setenv("MSGOPS_NOW", msk(9, "14:30").isoformat())
    assert booking.reminder_due(view.id, "2") is None  # the visit has begun
    assert booking.reminder_due(9999, "2") is None


def test_review_due_after_the_visit_and_review_upsert(cfg, monkeypatch):
    view = booking.book(chat(), answers(), cfg, NOW)
    monkeypatch.setenv("MSGOPS_NOW", msk(7, "11:00").isoformat())
    assert booking.review_due(view.id) is None
    monkeypatch.setenv("MSGOPS_NOW", msk(7, "14:00").isoformat())
    assert booking.review_due(view.id).status == booking.DONE
    assert booking.review_due(view.id).status == booking.DONE  # a retried job still gets it
    assert booking.upcoming("c1", NOW) is None

    booking.record_review(chat(), view.id, 5, None, None)
    booking.record_review(chat(), view.id, 2, "опоздали", "maintenance")
    with session_scope() as s:
        (review,) = s.execute(select(Review)).scalars().all()
        assert (review.rating, review.text, review.next_step) == (2, "опоздали", "maintenance")
    assert briefs()[-1].intent == "booking_review" and briefs()[-1].fields["rating"] == 2
    assert metric_names() == ["booked", "done", "reviewed"]
    for bad in (0, 6, "5", True):
        with pytest.raises(ValueError):
            booking.record_review(chat(), view.id, bad, None, None)


def test_cancelled_booking_gets_no_review(cfg, monkeypatch):
    view = booking.book(chat(), answers(), cfg, NOW)
    booking.cancel(chat(), view.id, cfg, NOW, None)
    monkeypatch.setenv("MSGOPS_NOW", msk(8, "14:00").isoformat())
    assert booking.review_due(view.id) is None


def test_upcoming_finds_the_same_customer_on_another_channel(cfg):
    later = booking.book(chat("tg-1", "telegram"), answers(msk(9, "10:00")), cfg, NOW)
    sooner = booking.book(chat("tg-1", "telegram"), answers(), cfg, NOW)
    assert booking.upcoming("tg-1", NOW).id == sooner.id
    assert booking.upcoming("wa-1", NOW) is None
    with session_scope() as s:  # the same phone writes on WhatsApp: one person
        from msgops.conversation import customer_card

        customer_card(s, chat("wa-1", "whatsapp"), None, "+7 916 123-45-67", "RU")
    assert booking.upcoming("wa-1", NOW).id == sooner.id
    booking.cancel(chat("wa-1", "whatsapp"), sooner.id, cfg, NOW, None)
    assert booking.upcoming("wa-1", NOW).id == later.id


def test_ics_for_checks_the_token(cfg):
    view = booking.book(chat(), answers(), cfg, NOW)
    token = view.ics_url.rsplit("t=", 1)[1]
    text = booking.ics_for(view.id, token)
    assert "UID:booking-%d@msgops" % view.id in text and "DTSTART:20261207T070000Z" in text
    assert "SUMMARY:Мойка окон — Чистый Дом" in text and "LOCATION:Москва\\, Арбат 1" in text
    assert booking.ics_for(view.id, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert booking.ics_for(view.id, "") is None and booking.ics_for(9999, token) is None
    assert "DESCRIPTION:Crew 1\\nкод 12" in booking.ics(view, cfg, "en")


def test_ics_url_uses_the_public_address(cfg, monkeypatch):
    monkeypatch.setenv("MSGOPS_PUBLIC_URL", "https://chat.example.org/")
    view = booking.book(chat(), answers(), cfg, NOW)
    assert view.ics_url.startswith(f"https://chat.example.org/bookings/{view.id}.ics?t=")


# --- concurrency --------------------------------------------------------------------------------------

def test_parallel_customers_for_the_last_free_crew_exactly_one_wins(cfg, monkeypatch):
    """Eight customers, each in their own thread and session, want Monday 10:00 while crew_1
    is already busy: the database lets exactly one of them have crew_2.

    Every first look at the free crews waits for all eight, so all of them see crew_2 free
    and the unique constraint, not the Python check, has to settle it."""
    fill(["crew_1"], msk(7, "09:00"), msk(7, "18:00"))
    results: List[str] = []
    barrier, looked = threading.Barrier(8), threading.Barrier(8, timeout=30)
    first_look = threading.local()
    pick = booking._pick

    def pick_together(*args, **kwargs):
        chosen = pick(*args, **kwargs)
        if not getattr(first_look, "done", False):
            first_look.done = True
            looked.wait()
        return chosen

    monkeypatch.setattr(booking, "_pick", pick_together)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            view = booking.book(chat(f"race-{n}"), answers(contact=f"+7916000000{n}"), cfg, NOW)
            results.append(f"booked {view.resources[0]}")
        except SlotTaken:
            results.append("taken")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["booked crew_2"] + ["taken"] * 7
    rows = claims()
    assert len(rows) == len(set(rows))  # no resource holds a unit twice
    with session_scope() as s:
        (winner,) = s.execute(select(Booking)).scalars().all()
        owners = set(s.execute(select(ResourceClaim.owner).where(ResourceClaim.resource == "crew_2")).scalars())
    assert owners == {f"booking:{winner.id}"} and len(claims(f"booking:{winner.id}")) == 10
