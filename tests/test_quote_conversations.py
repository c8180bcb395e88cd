"""The quote process end to end through the running servers, in both languages.

Each test is a customer talking over the REST channel; afterwards the business store must
hold the quote with its lines and status. Runs once on SQLite and once on PostgreSQL
(see the `servers` fixture). Dates are relative to the real clock, as the servers use it.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import List

import pytest
from sqlalchemy import update

from msgops import clock, scheduler
from msgops.business.config import DAYS, business
from msgops.records import fetch
from msgops.store import session_scope
from msgops.store.models import ScheduledJob

pytestmark = pytest.mark.servers

_RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
              "октября", "ноября", "декабря"]
_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]


def texts(replies: List[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: List[dict]) -> List[dict]:
    return [b for r in replies for b in r.get("buttons", [])]


def sender() -> str:
    return f"quote-{uuid.uuid4().hex[:12]}"


def mine(kind: str, conversation_id: str) -> List[dict]:
    return [r for r in fetch(kind) if r.get("conversation_id") == conversation_id]


def working_day(days_ahead: int) -> date:
    """A day at least `days_ahead` from today that the business works."""
    cfg = business()
    day = clock.now(cfg.tz).date() + timedelta(days=days_ahead)
    while cfg.working_hours[DAYS[day.weekday()]] is None \
            or day in cfg.holidays:
        day += timedelta(days=1)
    return day


def test_russian_quote_with_conflicts_the_customer_resolves_then_accepts(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "Посчитайте смету на генеральную уборку")
    assert "Какая площадь" in texts(replies), replies
    replies = s.say(me, "700")
    assert "от 20 до 500" in texts(replies), replies          # quantity outside the allowed range
    replies = s.say(me, "60")
    assert "Что-то добавить" in texts(replies), replies
    assert any("Балкон" == b["title"] for b in buttons(replies))
    replies = s.say(me, "балкон и 2 духовки")
    assert "По какому адресу" in texts(replies), replies
    replies = s.say(me, "Зеленоград")
    assert "На какой день" in texts(replies), replies
    replies = s.say(me, "завтра")                             # urgent and far (or a closed day)
    assert "Не сходится" in texts(replies) or "выходной" in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_date"] is None
    later = working_day(7)
    replies = s.say(me, f"{later.day} {_RU_MONTHS[later.month - 1]}")
    assert "фото" in texts(replies), replies
    replies = s.say(me, buttons(replies)[0]["payload"])       # "Без фото"
    offer = texts(replies)
    assert "Смета: Генеральная уборка" in offer and "60 м² × 180" in offer and "Балкон" in offer, replies
    assert "Духовка внутри" in offer and "Выезд" in offer and "Итого:" in offer and "НДС" in offer
    assert "Смета действует до" in offer and "Не входит" in offer
    visit = [b for b in buttons(replies) if "visit" in b["payload"]]
    replies = s.say(me, visit[0]["payload"])
    assert "смета принята" in texts(replies), replies

    quote = mine("quotes", me)[-1]
    assert quote["status"] == "accepted" and quote["next_step"] == "visit"
    assert quote["zone"] == "far" and quote["extras"] == {"balcony": 1, "oven": 2}
    work = datetime.fromisoformat(quote["work_date"])
    assert (work if work.tzinfo else work.replace(tzinfo=timezone.utc)).astimezone(business().tz).date() == later
    assert [line["code"] for line in quote["lines"]][:4] == ["service", "extra:balcony", "extra:oven", "travel"]
    brief = mine("briefs", me)[-1]
    assert brief["intent"] == "request_quote" and "visit" in brief["next_step"]


def test_english_range_quote_with_a_photo_link_reminder_then_declined(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "Could you give me an estimate for 3 hours of handyman work in Podolsk?")
    assert "Which day" in texts(replies), replies
    later = working_day(5)
    replies = s.say(me, f"{_EN_MONTHS[later.month - 1]} {later.day}")
    assert "photo" in texts(replies), replies
    replies = s.say(me, "here it is https://example.com/photos/leaking-tap.jpg")
    offer = texts(replies)
    assert "Quote: Handyman repairs" in offer and "3 h × (RUB 1,800 – RUB 2,500)" in offer, replies
    assert "This is a range" in offer and "hourly rate" in offer and "exact address" in offer
    quote = mine("quotes", me)[-1]
    assert quote["status"] == "sent" and "-" in quote["total"]
    assert quote["media"] == ["https://example.com/photos/leaking-tap.jpg"]

    with session_scope() as session:                          # the reminder is due now
        session.execute(update(ScheduledJob).where(ScheduledJob.ref == f"quote:{quote['id']}")
                        .values(due_at=scheduler.now_utc()))
    scheduler.Scheduler(s.rasa_url, "test-token").run_once()
    bot = [e.get("text") or "" for e in s.tracker(me)["events"] if e["event"] == "bot"]
    assert sum("A reminder about your quote" in t for t in bot) == 1, bot
    replies = s.say(me, "no thanks, too expensive")
    assert "declined" in texts(replies), replies
    assert mine("quotes", me)[-1]["status"] == "declined"


def test_english_quote_in_one_message_accepted_by_a_plain_yes(server_env):
    s, me = server_env, sender()
    later = working_day(6)
    replies = s.say(me, f"quote for window cleaning, 8 windows in Moscow on {_EN_MONTHS[later.month - 1]} {later.day}")
    offer = texts(replies)
    assert "Quote: Window cleaning" in offer and "8 windows × RUB 900" in offer, replies
    assert "Total: RUB" in offer and "This is a range" not in offer
    replies = s.say(me, "yes please")
    assert "accepted" in texts(replies), replies
    quote = mine("quotes", me)[-1]
    assert quote["status"] == "accepted" and quote["zone"] == "city"


def test_russian_quote_interrupted_by_a_question_and_stopped(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "нужна смета на мойку окон")
    assert "Сколько окон" in texts(replies), replies
    replies = s.say(me, "а ты бот?")
    assert "бот" in texts(replies) and "Сколько окон" in texts(replies), replies
    replies = s.say(me, "6")
    assert "По какому адресу" in texts(replies), replies
    replies = s.say(me, "стоп")
    assert "остановились" in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_quantity"] is None and mine("quotes", me) == []


def test_russian_plain_no_to_the_extras_question(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "смета на поддерживающую уборку 40 м2 в Марьино")
    assert "Что-то добавить" in texts(replies), replies
    replies = s.say(me, "нет")
    assert "На какой день" in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_extras"] == "none"


def test_a_service_with_a_quantity_starts_a_quote_not_a_price_answer(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "deep clean 90 m2 in Khimki")
    assert "Anything to add?" in texts(replies) and "Our prices" not in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_quantity"] == "90"


def test_english_first_message_gives_the_service_and_the_count(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "quote for 8 windows in Moscow")       # no service entity: the catalogue reads it
    assert "Which day" in texts(replies) and "Which service" not in texts(replies), replies
    slots = s.tracker(me)["slots"]
    assert slots["quote_service"] == "window_cleaning" and slots["quote_quantity"] == "8"
    later = working_day(6)
    replies = s.say(me, f"{_EN_MONTHS[later.month - 1]} {later.day}")
    assert "8 windows × RUB 900" in texts(replies) and "How many" not in texts(replies), replies


def test_russian_place_and_date_before_the_service_are_kept_and_their_clash_named(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "посчитайте смету")
    assert "Какая услуга" in texts(replies), replies
    replies = s.say(me, "Подольск")
    assert "Такой услуги" not in texts(replies) and "Какая услуга" in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_address"] == "Подольск"
    replies = s.say(me, "завтра")                             # urgent and far (or a closed day)
    assert "Такой услуги" not in texts(replies), replies
    assert "Не сходится" in texts(replies) or "выходной" in texts(replies), replies
    assert s.tracker(me)["slots"]["quote_date"] is None
    replies = s.say(me, "Мойка окон")
    assert "Сколько окон" in texts(replies), replies
    replies = s.say(me, "5")
    assert "На какой день" in texts(replies), replies         # the cleared date is asked again
    later = working_day(7)
    replies = s.say(me, f"{later.day} {_RU_MONTHS[later.month - 1]}")
    assert "Смета: Мойка окон" in texts(replies) and "Срочный" not in texts(replies), replies
    assert mine("quotes", me)[-1]["zone"] == "far"


@pytest.mark.parametrize("lang,first,place,sunday,closed", [
    ("ru", "нужна смета на мойку окон", "Москва", "в воскресенье", "выходной"),
    ("en", "quote for window cleaning", "Moscow", "this sunday", "We are closed"),
])
def test_a_sunday_is_named_as_closed_and_asked_again(server_env, lang, first, place, sunday, closed):
    s, me = server_env, sender()
    s.say(me, first)
    s.say(me, "6")
    s.say(me, place)
    replies = s.say(me, sunday)
    assert closed in texts(replies) and mine("quotes", me) == [], replies
    assert s.tracker(me)["slots"]["quote_date"] is None


def test_a_deep_clean_on_a_saturday_is_not_promised_for_saturday(server_env):
    s, me = server_env, sender()
    replies = s.say(me, "смета на генеральную уборку 60 м2 в Москве")
    assert "Что-то добавить" in texts(replies), replies
    s.say(me, "нет")
    replies = s.say(me, "в субботу")
    assert "фото" in texts(replies), replies
    replies = s.say(me, "без фото")
    offer = texts(replies)
    assert "Смета: Генеральная уборка" in offer and "около 5 ч на месте" in offer, replies
    assert "начало сб" not in offer and "не помещаются" in offer and "ближайший подходящий день" in offer
