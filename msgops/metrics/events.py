"""Recording the timestamped steps of a process, the raw material of every metric."""
from __future__ import annotations

from typing import Optional, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from msgops.store.models import MetricEvent


class ConversationRef(Protocol):
    conversation_id: str
    channel: str


def record(session: Session, process: str, name: str, conv: ConversationRef,
           value: Optional[float] = None) -> None:
    session.add(MetricEvent(process=process, name=name, conversation_id=conv.conversation_id,
                            channel=conv.channel, value=value))


def record_once(session: Session, process: str, name: str, conv: ConversationRef) -> bool:
    """Record a step only the first time in a conversation (e.g. "started"); True if new."""
    seen = session.execute(select(MetricEvent.id).where(
        MetricEvent.process == process, MetricEvent.name == name,
        MetricEvent.conversation_id == conv.conversation_id)).first()
    if seen:
        return False
    record(session, process, name, conv)
    return True
