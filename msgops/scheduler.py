"""Durable follow-ups, reminders and outbox deliveries.

Jobs are rows, so they survive a restart of every process. Any number of schedulers may
run: a job is claimed with a conditional UPDATE (pending -> running), which exactly one of
them wins on SQLite and PostgreSQL alike. A job reaches the customer through Rasa's HTTP
API (`trigger_intent`) on the channel they last used, so the reply goes through the same
rules, responses and language as the rest of the conversation.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from datetime import datetime, timedelta
from typing import Callable, Dict, Optional, Sequence

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from msgops import clock
from msgops.store import session_scope
from msgops.store.models import OutboxMessage, ScheduledJob

log = logging.getLogger("msgops.scheduler")

MAX_ATTEMPTS = 8
HTTP_TIMEOUT = 10
# Which intent a job kind fires in the conversation.
JOB_INTENTS: Dict[str, str] = {"followup": "EXTERNAL_followup", "quote_followup": "EXTERNAL_quote_followup",
                               "booking_reminder": "EXTERNAL_booking_reminder",
                               "booking_review": "EXTERNAL_booking_review"}


def now_utc() -> datetime:
    """msgops.clock's now, so a pinned MSGOPS_NOW moves the scheduler with the servers."""
    return clock.now()


def schedule(session: Session, *, kind: str, ref: str, conversation_id: str, channel: str,
             due_at: datetime, payload: Optional[dict] = None, once: bool = False) -> ScheduledJob:
    """Create the job or move it; with `once`, a job that already fired is left alone."""
    job = session.execute(
        select(ScheduledJob).where(ScheduledJob.kind == kind, ScheduledJob.ref == ref)
    ).scalar_one_or_none()
    if job is None:
        job = ScheduledJob(kind=kind, ref=ref, conversation_id=conversation_id, channel=channel,
                           due_at=due_at, payload=payload or {}, status="pending")
        session.add(job)
    elif job.status in ("pending", "cancelled") or not once:
        job.due_at, job.channel, job.status = due_at, channel, "pending"
        job.payload = payload or job.payload
    session.flush()
    return job


def cancel(session: Session, *, kind: str, ref: str) -> None:
    session.execute(update(ScheduledJob).where(
        ScheduledJob.kind == kind, ScheduledJob.ref == ref, ScheduledJob.status == "pending"
    ).values(status="cancelled", done_at=now_utc()))


def cancel_all(session: Session, *, kinds: Sequence[str], ref_prefix: str) -> None:
    """Cancel every pending job of these kinds whose ref starts with `ref_prefix`: all of a
    booking's reminders, whichever times and hours they were scheduled for."""
    session.execute(update(ScheduledJob).where(
        ScheduledJob.kind.in_(kinds), ScheduledJob.ref.startswith(ref_prefix, autoescape=True),
        ScheduledJob.status == "pending",
    ).values(status="cancelled", done_at=now_utc()).execution_options(synchronize_session=False))


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** attempts, 3600))


def _claim(session: Session, model, row_id: int, field_pending: str = "pending") -> bool:
    result = session.execute(update(model).where(model.id == row_id, model.status == field_pending)
                             .values(status="running"))
    return result.rowcount == 1


class Scheduler:
    """Polls for due work; `run_once` is what tests call, `run_forever` what `make run` starts."""

    def __init__(self, rasa_url: str, token: Optional[str], poll_seconds: float = 1.0,
                 post: Callable[..., requests.Response] = requests.post) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token
        self.poll_seconds = poll_seconds
        self.post = post
        self._stop = threading.Event()

    def run_once(self) -> int:
        return self._fire_due_jobs() + self._deliver_outbox()

    def run_forever(self) -> None:
        log.info("scheduler polling every %.1fs, Rasa at %s", self.poll_seconds, self.rasa_url)
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the loop
                log.exception("scheduler pass failed; retrying")
            self._stop.wait(self.poll_seconds)

    def stop(self, *_: object) -> None:
        self._stop.set()

    def _fire_due_jobs(self) -> int:
        with session_scope() as session:
            due = session.execute(
                select(ScheduledJob.id).where(ScheduledJob.status == "pending",
                                              ScheduledJob.due_at <= now_utc())
                .order_by(ScheduledJob.due_at).limit(20)
            ).scalars().all()
        fired = 0
        for job_id in due:
            with session_scope() as session:
                if not _claim(session, ScheduledJob, job_id):
                    continue
            with session_scope() as session:
                job = session.get(ScheduledJob, job_id)
                try:
                    self._trigger(job)
                    job.status, job.done_at = "sent", now_utc()
                    fired += 1
                except requests.RequestException as exc:
                    job.attempts += 1
                    job.last_error = str(exc)[:500]
                    job.status = "failed" if job.attempts >= MAX_ATTEMPTS else "pending"
                    job.due_at = now_utc() + _backoff(job.attempts)
                    log.warning("job %s (%s %s) failed: %s", job.id, job.kind, job.ref, exc)
        return fired

    def _trigger(self, job: ScheduledJob) -> None:
        params = {"output_channel": job.channel}
        if self.token:
            params["token"] = self.token
        response = self.post(
            f"{self.rasa_url}/conversations/{job.conversation_id}/trigger_intent",
            params=params,
            json={"name": JOB_INTENTS[job.kind], "entities": job.payload or {}},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        log.info("fired %s for %s", job.kind, job.conversation_id)

    def _deliver_outbox(self) -> int:
        with session_scope() as session:
            due = session.execute(
                select(OutboxMessage.id).where(OutboxMessage.status == "pending",
                                               OutboxMessage.next_attempt_at <= now_utc())
                .order_by(OutboxMessage.id).limit(20)
            ).scalars().all()
        delivered = 0
        for message_id in due:
            with session_scope() as session:
                if not _claim(session, OutboxMessage, message_id):
                    continue
            with session_scope() as session:
                message = session.get(OutboxMessage, message_id)
                try:
                    self.post(message.url, json=message.payload, timeout=HTTP_TIMEOUT).raise_for_status()
                    message.status, message.delivered_at = "delivered", now_utc()
                    delivered += 1
                except requests.RequestException as exc:
                    message.attempts += 1
                    message.last_error = str(exc)[:500]
                    message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "pending"
                    message.next_attempt_at = now_utc() + _backoff(message.attempts)
                    log.warning("outbox %s to %s failed (attempt %s): %s", message.id,
                                message.target, message.attempts, exc)
        return delivered


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="Fire due follow-ups and deliver the outbox.")
    parser.add_argument("--rasa-url", default=os.environ.get("MSGOPS_RASA_URL", "http://localhost:5005"))
    parser.add_argument("--poll", type=float, default=float(os.environ.get("MSGOPS_SCHEDULER_POLL", "1")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheduler = Scheduler(args.rasa_url, os.environ.get("MSGOPS_API_TOKEN"), args.poll)
    signal.signal(signal.SIGTERM, scheduler.stop)
    signal.signal(signal.SIGINT, scheduler.stop)
    scheduler.run_forever()


if __name__ == "__main__":
    main()
