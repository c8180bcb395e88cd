"""The CRM, the calendar, the scheduler and the outbox against a real database."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from msgops import scheduler
from msgops.integrations import calendar, crm
from msgops.integrations.briefs import BriefContent, send_brief
from msgops.store import session_scope
from msgops.store.models import Contact, Lead, Meeting, OutboxMessage, ScheduledJob


def test_same_chat_updates_one_contact(db):
    with session_scope() as s:
        first = crm.upsert_contact(s, channel="telegram", external_id="42", name="Ольга").id
    with session_scope() as s:
        again = crm.upsert_contact(s, channel="telegram", external_id="42", phone="+79161234567").id
    with session_scope() as s:
        contact = s.get(Contact, first)
        assert again == first and contact.name == "Ольга" and contact.phone == "+79161234567"
        assert s.execute(select(func.count(Contact.id))).scalar() == 1


def test_same_phone_on_another_channel_is_the_same_person(db):
    with session_scope() as s:
        first = crm.upsert_contact(s, channel="telegram", external_id="42", phone="+79161234567").id
    with session_scope() as s:
        other = crm.upsert_contact(s, channel="whatsapp", external_id="79161234567",
                                   phone="+79161234567", email="o@example.com").id
    with session_scope() as s:
        assert other == first
        channels = {i.channel for i in s.get(Contact, first).identities}
        assert channels == {"telegram", "whatsapp"}


@pytest.mark.parametrize("first, second", [("telegram", "whatsapp"), ("whatsapp", "telegram")])
def test_cards_made_before_the_phone_was_known_are_merged(db, first, second):
    """Each chat gets a card at the first answer; the phone, given later, shows it is one person."""
    with session_scope() as s:
        older = crm.upsert_contact(s, channel=first, external_id="a", name="Ольга", phone="+79161234567").id
    with session_scope() as s:
        newer = crm.upsert_contact(s, channel=second, external_id="b", name="Ольга").id
        s.add(Lead(contact_id=newer, conversation_id="b", channel=second, status="in progress", answers={},
                   reasons=[]))
    with session_scope() as s:
        merged = crm.upsert_contact(s, channel=second, external_id="b", phone="+79161234567").id
    with session_scope() as s:
        assert merged == older and s.execute(select(func.count(Contact.id))).scalar() == 1
        assert {i.channel for i in s.get(Contact, older).identities} == {first, second}
        assert s.execute(select(Lead.contact_id)).scalars().all() == [older]


def test_different_people_stay_apart(db):
    with session_scope() as s:
        a = crm.upsert_contact(s, channel="rest", external_id="a", phone="+79161234567").id
        b = crm.upsert_contact(s, channel="rest", external_id="b", phone="+79161230000").id
    assert a != b


def _contact(s) -> int:
    return crm.upsert_contact(s, channel="rest", external_id="x").id


START = datetime(2027, 1, 11, 10, 0, tzinfo=timezone.utc)


def test_overlapping_booking_is_refused_by_the_database(db):
    with session_scope() as s:
        cid = _contact(s)
    with session_scope() as s:
        calendar.book(s, resource="r", start=START, end=START + timedelta(minutes=30), contact_id=cid, lead_id=None)
    with pytest.raises(calendar.SlotTaken):
        with session_scope() as s:
            calendar.book(s, resource="r", start=START + timedelta(minutes=15),
                          end=START + timedelta(minutes=45), contact_id=cid, lead_id=None)
    with session_scope() as s:  # the adjacent half hour and another resource are free
        calendar.book(s, resource="r", start=START + timedelta(minutes=30),
                      end=START + timedelta(minutes=60), contact_id=cid, lead_id=None)
        calendar.book(s, resource="other", start=START, end=START + timedelta(minutes=30),
                      contact_id=cid, lead_id=None)
    with session_scope() as s:
        assert s.execute(select(func.count(Meeting.id))).scalar() == 3


def test_parallel_bookings_of_one_slot_exactly_one_wins(db):
    with session_scope() as s:
        cid = _contact(s)
    results: list = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            with session_scope() as s:
                calendar.book(s, resource="r", start=START, end=START + timedelta(minutes=30),
                              contact_id=cid, lead_id=None)
            results.append("booked")
        except calendar.SlotTaken:
            results.append("taken")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["booked"] + ["taken"] * 7


class _Recorder(BaseHTTPRequestHandler):
    calls: list = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((self.path, body))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_recorder():
    _Recorder.calls, _Recorder.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder
    server.shutdown()


def _job(s, due: datetime, ref: str = "lead:1") -> None:
    scheduler.schedule(s, kind="followup", ref=ref, conversation_id="c1", channel="rest",
                       due_at=due, once=True)


def test_followup_fires_once_and_never_again(db, http_recorder):
    url, recorder = http_recorder
    with session_scope() as s:
        _job(s, scheduler.now_utc() - timedelta(seconds=1))
    worker = scheduler.Scheduler(url, "tok")
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    path, body = recorder.calls[0]
    assert path.startswith("/conversations/c1/trigger_intent?output_channel=rest&token=tok")
    assert b"EXTERNAL_followup" in body
    with session_scope() as s:  # re-arming a follow-up that already fired changes nothing
        _job(s, scheduler.now_utc() - timedelta(seconds=1))
    assert worker.run_once() == 0


def test_cancelled_followup_does_not_fire(db, http_recorder):
    url, recorder = http_recorder
    with session_scope() as s:
        _job(s, scheduler.now_utc() - timedelta(seconds=1))
        scheduler.cancel(s, kind="followup", ref="lead:1")
    assert scheduler.Scheduler(url, None).run_once() == 0 and recorder.calls == []


def test_future_job_waits(db, http_recorder):
    url, recorder = http_recorder
    with session_scope() as s:
        _job(s, scheduler.now_utc() + timedelta(minutes=5))
    assert scheduler.Scheduler(url, None).run_once() == 0


def test_unreachable_rasa_keeps_the_job_for_a_retry(db):
    with session_scope() as s:
        _job(s, scheduler.now_utc() - timedelta(seconds=1))
    assert scheduler.Scheduler("http://127.0.0.1:9", None).run_once() == 0
    with session_scope() as s:
        job = s.execute(select(ScheduledJob)).scalar_one()
        assert job.status == "pending" and job.attempts == 1 and job.last_error


def test_concurrent_schedulers_fire_a_job_once(db, http_recorder):
    url, recorder = http_recorder
    with session_scope() as s:
        for n in range(10):
            _job(s, scheduler.now_utc() - timedelta(seconds=1), ref=f"lead:{n}")
    workers = [scheduler.Scheduler(url, None) for _ in range(3)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorder.calls) == 10


def test_brief_is_stored_and_webhook_retried_until_delivered(db, http_recorder):
    url, recorder = http_recorder
    recorder.fail_first = 1
    with session_scope() as s:
        send_brief(s, BriefContent(conversation_id="c1", channel="rest", intent="ask_price",
                                   fields={"service": "general_cleaning"}, tried=["asked"],
                                   next_step="call", last_message="hi"), f"{url}/briefs")
    worker = scheduler.Scheduler("http://127.0.0.1:9", None)
    assert worker.run_once() == 0  # the CRM answered 503: kept for later
    with session_scope() as s:
        message = s.execute(select(OutboxMessage)).scalar_one()
        assert message.status == "pending" and message.attempts == 1
        message.next_attempt_at = scheduler.now_utc()
    assert worker.run_once() == 1
    assert len(recorder.calls) == 2 and b'"service": "general_cleaning"' in recorder.calls[1][1]

