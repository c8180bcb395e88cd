"""The lead process end to end through the running servers, in both languages.

Each test is a customer talking over the REST channel; afterwards the business store must
hold what a manager needs (contact, lead, meeting, brief). Runs once on SQLite and once on
PostgreSQL (see the `servers` fixture).
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import List

import pytest

from msgops import cli, scheduler
from msgops.metrics.report import first_reply_seconds, lead_metrics
from msgops.records import fetch

pytestmark = pytest.mark.servers


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: List[dict]) -> List[dict]:
    return [b for r in replies for b in r.get("buttons", [])]


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def time_buttons(replies: List[dict]) -> List[dict]:
    return [b for b in buttons(replies) if '"time"' in b["payload"]]


def mine(kind: str, conversation_id: str) -> List[dict]:
    """This conversation's records: by conversation id, or for contacts by a channel identity."""
    return [r for r in fetch(kind) if r.get("conversation_id") == conversation_id
            or any(c.split(":", 1)[-1] == conversation_id for c in r.get("channels", []))]


def test_russian_night_customer_in_short_messages(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "Сколько стоит?")
    assert "Наши цены" in texts(replies)
    assert any("general_cleaning" in b["payload"] for b in buttons(replies)), replies
    replies = s.say(me, "генералку")
    assert "Где нужно выполнить работу" in texts(replies)
    replies = s.say(me, "в Химках")
    assert "Когда вам удобно" in texts(replies)
    replies = s.say(me, "завтар после обеда")  # typo and a relative date
    assert "Как к вам обращаться" in texts(replies), replies
    replies = s.say(me, "Ольга")
    assert "телефон или e-mail" in texts(replies)
    replies = s.say(me, "8 (916) 123-45-67")
    assert "Ольга" in texts(replies) and "звонок" in texts(replies)
    offered = time_buttons(replies)
    assert 2 <= len(offered) <= 3, replies
    replies = s.say(me, offered[0]["payload"])
    assert "Звонок назначен" in texts(replies), replies

    lead = mine("leads", me)[-1]
    assert lead["status"] == "qualified, meeting booked"
    assert lead["service"] == "general_cleaning" and lead["zone"] == "near"
    contact = [c for c in fetch("contacts") if c["id"] == lead["contact_id"]][0]
    assert contact["name"] == "Ольга" and contact["phone"] == "+79161234567"
    meeting = [m for m in fetch("meetings") if m["lead_id"] == lead["id"]]
    assert len(meeting) == 1 and meeting[0]["status"] == "booked"
    brief = mine("briefs", me)[-1]
    assert brief["fields"]["contact"] == "+79161234567" and brief["next_step"].startswith("call")
    assert brief["last_message"]

    figures = lead_metrics()
    assert figures["meetings_booked"] >= 1 and 0 < figures["conversion"] <= 1
    replies = first_reply_seconds(f"sqlite:///{s.workdir / 'tracker.db'}")
    assert replies["rest"]["replies"] >= 7 and replies["rest"]["median_s"] < 10


def test_english_customer_gives_everything_at_once(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "Hi, I'm John. How much is a deep clean in Krasnogorsk next Friday? "
                        "You can email me at john.doe@example.com")
    assert "Deep cleaning" in texts(replies)
    assert "Thank you, John" in texts(replies), replies
    offered = time_buttons(replies)
    assert offered, replies
    payload = offered[-1]["payload"]
    chosen = json.loads(payload[payload.index("{"):])["time"]
    start = datetime.fromisoformat(chosen)
    typed = f"{start:%B} {start.day} at {start:%H:%M}"  # e.g. "December 11 at 15:00"
    replies = s.say(me, typed)
    assert "Your call is booked" in texts(replies), (typed, replies)
    assert "link to an online call to john.doe@example.com" in texts(replies)  # no phone to dial
    assert mine("briefs", me)[-1]["next_step"].startswith("e-mail the customer at john.doe@example.com")
    lead = mine("leads", me)[-1]
    assert lead["status"] == "qualified, meeting booked" and lead["zone"] == "near"
    assert [c for c in fetch("contacts") if c["id"] == lead["contact_id"]][0]["email"] == "john.doe@example.com"


def test_interruptions_are_answered_and_the_form_goes_on(server_env):
    s, me = server_env, sender()
    s.say(me, "сколько стоит помыть окна?")
    replies = s.say(me, "ты бот?")
    assert "бот" in texts(replies) and "Где нужно выполнить работу" in texts(replies)
    replies = s.say(me, "да")  # a bare "да" is not an address
    assert "Где нужно выполнить работу" in texts(replies)
    assert s.tracker(me)["slots"]["location"] is None
    replies = s.say(me, "Москва, Марьино")
    assert "Когда вам удобно" in texts(replies)
    replies = s.say(me, "позовите менеджера")
    assert "Передал разговор менеджеру" in texts(replies)
    assert s.say(me, "алло?") == []  # paused: a human has it now, and the message is kept
    events = s.tracker(me)["events"]
    assert any(e["event"] == "user" and e.get("text") == "алло?" for e in events)
    brief = mine("briefs", me)[-1]
    assert brief["fields"]["service"] == "window_cleaning" and brief["last_message"] == "позовите менеджера"
    assert mine("leads", me)[-1]["status"] == "handed to a human"
    assert brief["tried"][:2] == ["answered the price question", "asked the lead questions"]


def test_after_a_handback_the_bot_answers_what_comes_next(server_env, monkeypatch):
    """The messages the human handled are not acted on again: an unclear one after the
    handback gets a clear reply, never a second handoff."""
    s, me = server_env, sender()
    s.say(me, "сколько стоит помыть окна?")
    s.say(me, "позовите менеджера")
    assert s.say(me, "алло?") == []
    monkeypatch.setenv("MSGOPS_API_TOKEN", s.token)
    assert cli.main(["handback", me, "--rasa-url", s.rasa_url]) == 0
    replies = s.say(me, "ну что там?")
    assert replies and "Передал разговор менеджеру" not in texts(replies)
    assert len(mine("briefs", me)) == 1


def test_silent_customer_gets_exactly_one_followup(server_env):
    s, me = server_env, sender()
    s.say(me, "how much do you charge for furniture assembly?")
    s.say(me, "Odintsovo")
    worker = scheduler.Scheduler(s.rasa_url, "test-token")
    time.sleep(4)  # the test profile's follow-up delay is 3 s
    worker.run_once()
    worker.run_once()
    bot = [e.get("text") or "" for e in s.tracker(me)["events"] if e["event"] == "bot"]
    assert sum("You stopped halfway" in t for t in bot) == 1, bot
    replies = s.say(me, "stop")
    assert "stopped" in texts(replies)
    assert mine("leads", me)[-1]["status"] == "stopped by customer"


def test_no_followup_after_stop(server_env):
    s, me = server_env, sender()
    s.say(me, "почём химчистка дивана")
    s.say(me, "хватит")
    time.sleep(4)
    scheduler.Scheduler(s.rasa_url, "test-token").run_once()
    bot = [e.get("text") or "" for e in s.tracker(me)["events"] if e["event"] == "bot"]
    assert not any("остановились на полпути" in t for t in bot)


def test_lead_outside_the_area_is_offered_an_alternative(server_env):
    s, me = server_env, sender()
    s.say(me, "сколько стоит генеральная уборка")
    replies = s.say(me, "Тверь")  # the place decides it: no time, name or contact asked first
    assert "вне зоны" in texts(replies) and any(b["payload"] == "/request_human" for b in buttons(replies))
    assert mine("leads", me)[-1]["status"] == "not qualified, alternative offered"
    replies = s.say(me, "/deny")
    assert "Если передумаете" in texts(replies)


def test_customer_who_switches_language_is_answered_in_the_new_one(servers):
    me = sender()
    assert "Здравствуйте" in texts(servers.say(me, "привет"))
    assert "I'm a bot" in texts(servers.say(me, "sorry, are you a real person or a bot?"))
    assert "бот-помощник" in texts(servers.say(me, "а ты бот?"))


@pytest.mark.parametrize("message, expected", [
    ("", "пустым"),
    ("   ", "пустым"),
    ("😀😀😀", "словами"),
    ("ывапролджэ фывфыв", "разобрать"),
    ("Сколько стоит уборка? " + "очень подробно " * 700, "длинное сообщение"),
])
def test_bad_input_gets_a_clear_reply(servers, message, expected):
    replies = servers.say(sender(), message)
    assert expected in texts(replies), replies

