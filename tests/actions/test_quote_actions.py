"""The quote process: its reading of answers, its conflicts, and the real action classes
with a tracker and CollectingDispatcher against a real database."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.conversation import ActionHandoff, ActionStopProcess
from actions.quote import (
    ActionAcceptQuote,
    ActionAskQuoteExtras,
    ActionAskQuoteQuantity,
    ActionDeclineQuote,
    ActionGiveQuote,
    ActionQuoteFollowup,
    ValidateQuoteForm,
)
from msgops import quote
from msgops.business.answers import WhenAnswer
from msgops.business.config import business
from msgops.records import fetch
from msgops.store import session_scope
from msgops.store.models import ScheduledJob

NOW = "2026-12-03T12:00:00+03:00"  # a Thursday
INTERRUPTIONS = ["greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope",
                 "request_human", "stop", "ask_price", "EXTERNAL_followup", "share_media"]
DOMAIN: Dict[str, Any] = {
    "forms": {"quote_form": {"required_slots": ["quote_service", "quote_quantity", "quote_extras",
                                                "quote_address", "quote_date", "quote_photo"]}},
    "slots": {"quote_address": {"mappings": [{"type": "from_text", "not_intent": INTERRUPTIONS}]}},
}


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    monkeypatch.setenv("MSGOPS_NOW", NOW)


def tracker(slots: Optional[Dict[str, Any]] = None, text: str = "", intent: str = "inform",
            entities: Optional[List[dict]] = None, requested: Optional[str] = None,
            sender: str = "quote-1") -> Tracker:
    all_slots = {"language": "ru", "failed_answers": 0, "requested_slot": requested, **(slots or {})}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"}]
    return Tracker(sender, all_slots, latest, events, False, None,
                   {"name": "quote_form"} if requested else {}, "action_listen")


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return dispatcher.messages, events


def responses(messages) -> List[str]:
    return [m.get("response") for m in messages]


def slots_of(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# --- reading answers -------------------------------------------------------------------------

def test_quantity_needs_a_unit_unless_it_was_asked():
    assert quote.read_quantity("смета на уборку 80 м2 с балконом", None, unit_required=True) == 80
    assert quote.read_quantity("how much for 6 windows", "window", unit_required=True) == 6
    assert quote.read_quantity("уборка в субботу", "m2", unit_required=True) is None
    assert quote.read_quantity("около 45,5", "m2", unit_required=False) == Decimal("45.5")
    assert quote.read_quantity("5 этаж, 60", "m2", unit_required=False) == 60


def test_extras_with_counts_floors_and_nothing():
    cfg = business()
    assert quote.read_extras("балкон, 2 духовки и кошка, 5 этаж без лифта", cfg, "general_cleaning") == (
        {"balcony": 1, "oven": 2, "pets": 1, "no_lift": 5}, None)
    assert quote.read_extras("a balcony and two ovens", cfg, "general_cleaning") == ({"balcony": 1, "oven": 2}, None)
    assert quote.read_extras("нет", cfg, "general_cleaning") == ({}, None)
    assert quote.read_extras("без лифта", cfg, "general_cleaning") == ({}, "no_lift")
    assert quote.read_extras("2 этаж без лифта", cfg, "general_cleaning") == ({}, None)  # first 3 floors free
    assert quote.read_extras("погода", cfg, "general_cleaning") == (None, None)


def test_questions_come_from_the_business_profile():
    cfg = business()
    assert quote.questions(cfg, None) == ["quote_service"]
    assert quote.questions(cfg, "window_cleaning") == ["quote_service", "quote_quantity", "quote_address",
                                                       "quote_date"]
    assert quote.questions(cfg, "general_cleaning")[-1] == "quote_photo"


# --- the form ---------------------------------------------------------------------------------

def test_first_message_fills_the_quantity_and_extras():
    validator = ValidateQuoteForm()
    t = tracker({"quote_service": "general_cleaning"}, text="смета на генералку 80 м2 с балконом",
                intent="request_quote")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(validator.run(dispatcher, t, DOMAIN))
    slots = slots_of(events)
    assert slots["quote_quantity"] == "80" and slots["quote_extras"] == "balcony=1"


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback"])
def test_extras_read_as_off_topic_are_still_the_answer(intent):
    t = tracker({"quote_service": "general_cleaning", "quote_quantity": "60"}, text="балкон и кошка",
                intent=intent, requested="quote_extras")
    slots = slots_of(asyncio.run(ValidateQuoteForm().run(CollectingDispatcher(), t, DOMAIN)))
    assert slots["quote_extras"] == quote.format_extras(quote.read_extras("балкон, кошка", business(),
                                                                          "general_cleaning")[0])


def test_off_topic_without_extras_is_left_to_the_interruption():
    t = tracker({"quote_service": "general_cleaning", "quote_quantity": "60"}, text="какая погода завтра",
                intent="out_of_scope", requested="quote_extras")
    slots = slots_of(asyncio.run(ValidateQuoteForm().run(CollectingDispatcher(), t, DOMAIN)))
    assert slots.get("quote_extras") is None


def test_quantity_out_of_range_says_the_range():
    dispatcher = CollectingDispatcher()
    result = ValidateQuoteForm().validate_quote_quantity(
        "700", dispatcher, tracker({"quote_service": "general_cleaning"}, requested="quote_quantity"), DOMAIN)
    assert result["quote_quantity"] is None
    assert dispatcher.messages[0]["response"] == "utter_quote_quantity_out_of_range"
    assert (dispatcher.messages[0]["min"], dispatcher.messages[0]["max"]) == ("20", "500")


def test_interruption_is_not_read_as_an_answer():
    t = tracker({"quote_service": "window_cleaning"}, text="сколько стоит 5 окон?", intent="ask_price",
                requested="quote_quantity")
    assert asyncio.run(ValidateQuoteForm().extract_quote_quantity(CollectingDispatcher(), t, DOMAIN)) == {}


def test_address_outside_the_area_is_refused():
    dispatcher = CollectingDispatcher()
    result = ValidateQuoteForm().validate_quote_address("Тверь", dispatcher, tracker(requested="quote_address"),
                                                        DOMAIN)
    assert result["quote_address"] is None
    assert dispatcher.messages[0]["response"] == "utter_quote_out_of_area"
    assert dispatcher.messages[0]["place"] == "Тверь"


def test_urgent_date_and_far_address_conflict_clears_the_date():
    dispatcher = CollectingDispatcher()
    tomorrow = "2026-12-04T10:00:00+03:00"
    result = ValidateQuoteForm().validate_quote_address(
        "Зеленоград", dispatcher, tracker({"quote_date": tomorrow}), DOMAIN)
    assert result["quote_address"] == "Зеленоград" and result["quote_date"] is None
    assert responses(dispatcher.messages) == ["utter_quote_urgent_far"]
    dispatcher = CollectingDispatcher()
    result = ValidateQuoteForm().validate_quote_date(
        tomorrow, dispatcher, tracker({"quote_address": "Зеленоград"}), DOMAIN)
    assert result["quote_date"] is None and responses(dispatcher.messages) == ["utter_quote_urgent_far"]
    later = ValidateQuoteForm().validate_quote_date(
        "2026-12-08T10:00:00+03:00", CollectingDispatcher(), tracker({"quote_address": "Зеленоград"}), DOMAIN)
    assert later["quote_date"].startswith("2026-12-08")


def test_closed_day_and_past_date():
    dispatcher = CollectingDispatcher()
    asked = tracker(requested="quote_date")
    sunday = ValidateQuoteForm().validate_quote_date("2026-12-06T11:00:00+03:00", dispatcher, asked, DOMAIN)
    assert sunday["quote_date"] is None and responses(dispatcher.messages) == ["utter_quote_closed_day"]
    assert "8 декабря" in dispatcher.messages[0]["next"] or "7 декабря" in dispatcher.messages[0]["next"]
    dispatcher = CollectingDispatcher()
    ValidateQuoteForm().validate_quote_date("2026-12-01T11:00:00+03:00", dispatcher, asked, DOMAIN)
    assert responses(dispatcher.messages) == ["utter_quote_date_in_past"]


def test_missing_floor_is_asked():
    t = tracker({"quote_service": "general_cleaning"}, text="без лифта", requested="quote_extras")
    extracted = asyncio.run(ValidateQuoteForm().extract_quote_extras(CollectingDispatcher(), t, DOMAIN))
    dispatcher = CollectingDispatcher()
    result = ValidateQuoteForm().validate_quote_extras(extracted["quote_extras"], dispatcher, t, DOMAIN)
    assert result["quote_extras"] is None and responses(dispatcher.messages) == ["utter_quote_ask_floor"]


def test_questions_by_unit_and_extras_buttons():
    messages, _ = run(ActionAskQuoteQuantity(), tracker({"quote_service": "window_cleaning"}))
    assert responses(messages) == ["utter_ask_quote_quantity_window"]
    messages, _ = run(ActionAskQuoteExtras(), tracker({"quote_service": "general_cleaning", "language": "en"}))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert "Balcony" in titles and titles[-1] == "Nothing" and "No lift" not in titles


# --- the offer and what becomes of it ------------------------------------------------------

ANSWERS = {"quote_service": "general_cleaning", "quote_quantity": "80", "quote_extras": "balcony=1",
           "quote_address": "Химки", "quote_date": "2026-12-08T10:00:00+03:00", "quote_photo": "https://x.test/p.jpg"}


def test_quote_is_itemised_recorded_and_followed_up(store):
    messages, events = run(ActionGiveQuote(), tracker(ANSWERS))
    assert responses(messages) == ["utter_quote_offer", "utter_quote_next_step"]
    offer = messages[0]
    assert "80 м² × 180" in offer["breakdown"] and "Балкон" in offer["breakdown"]
    assert "Скидка на первый заказ" in offer["breakdown"] and "НДС" in offer["total"]
    assert offer["valid_until"].endswith("10 декабря")
    assert slots_of(events)["quote_status"] == "offered" and slots_of(events)["quote_service"] is None
    row = fetch("quotes")[-1]
    assert row["status"] == "sent" and row["total"] == "14810.00" and row["media"] == ["https://x.test/p.jpg"]
    assert [line["code"] for line in row["lines"]][:3] == ["service", "extra:balcony", "travel"]
    with session_scope() as session:
        job = session.execute(select(ScheduledJob).where(ScheduledJob.kind == "quote_followup")).scalar_one()
        assert job.status == "pending" and job.ref == f"quote:{row['id']}"

    messages, _ = run(ActionQuoteFollowup(), tracker())
    assert responses(messages) == ["utter_quote_followup"] and "14" in messages[0]["total"]
    messages, events = run(ActionAcceptQuote(), tracker(entities=[{"entity": "quote_next", "value": "deposit"}]))
    assert responses(messages) == ["utter_quote_accepted_deposit"]
    row = fetch("quotes")[-1]
    assert row["status"] == "accepted" and row["next_step"] == "deposit"
    brief = fetch("briefs")[-1]
    assert brief["intent"] == "request_quote" and "deposit" in brief["next_step"]
    messages, _ = run(ActionQuoteFollowup(), tracker())
    assert messages == []  # decided: no reminder


def test_range_quote_and_decline(store):
    answers = {"quote_service": "handyman", "quote_quantity": "3", "quote_address": "Подольск",
               "quote_date": "2026-12-10T10:00:00+03:00", "language": "en"}
    messages, _ = run(ActionGiveQuote(), tracker(answers, sender="quote-2"))
    assert responses(messages) == ["utter_quote_offer", "utter_quote_conditions", "utter_quote_next_step"]
    assert "–" in messages[0]["total"] and "hourly rate" in messages[1]["conditions"]
    messages, _ = run(ActionDeclineQuote(), tracker(sender="quote-2"))
    assert responses(messages) == ["utter_quote_declined"]
    assert fetch("quotes")[-1]["status"] == "declined"


def test_old_quote_expires(store, monkeypatch):
    run(ActionGiveQuote(), tracker(ANSWERS, sender="quote-3"))
    later = (datetime.fromisoformat(NOW) + timedelta(days=8)).astimezone(timezone.utc)
    monkeypatch.setenv("MSGOPS_NOW", later.isoformat())
    assert fetch("quotes")[-1]["status"] == "expired"
    messages, _ = run(ActionAcceptQuote(), tracker(sender="quote-3"))
    assert responses(messages) == ["utter_quote_none_open"]


def test_stop_and_handoff_inside_the_quote(store):
    _, events = run(ActionStopProcess(), tracker(ANSWERS))
    assert slots_of(events)["quote_address"] is None
    messages, _ = run(ActionHandoff(), tracker({"quote_service": "window_cleaning", "quote_quantity": "6"},
                                               text="позовите менеджера", intent="request_human"))
    assert responses(messages) == ["utter_handoff"]
    assert fetch("briefs")[-1]["fields"]["quote_quantity"] == "6"


def test_photo_from_a_channel_link_or_none():
    validator = ValidateQuoteForm()
    media = tracker(intent="share_media", requested="quote_photo",
                    entities=[{"entity": "media_type", "value": "image"},
                              {"entity": "media_url", "value": "https://cdn.test/a.jpg"}])
    assert asyncio.run(validator.extract_quote_photo(CollectingDispatcher(), media, DOMAIN)) == {
        "quote_photo": "https://cdn.test/a.jpg"}
    typed = tracker(text="вот фото https://x.test/b.png", requested="quote_photo")
    assert asyncio.run(validator.extract_quote_photo(CollectingDispatcher(), typed, DOMAIN)) == {
        "quote_photo": "https://x.test/b.png"}
    button = tracker(text='/inform{"quote_option": "none"}', requested="quote_photo",
                     entities=[{"entity": "quote_option", "value": "none"}])
    assert asyncio.run(validator.extract_quote_photo(CollectingDispatcher(), button, DOMAIN)) == {
        "quote_photo": "none"}


def test_a_plain_no_to_an_optional_question_means_nothing():
    validator = ValidateQuoteForm()
    no = tracker({"quote_service": "general_cleaning"}, text="нет", intent="deny", requested="quote_extras")
    assert asyncio.run(validator.extract_quote_extras(CollectingDispatcher(), no, DOMAIN)) == {"quote_extras": "none"}
    no = tracker(text="no", intent="deny", requested="quote_photo")
    assert asyncio.run(validator.extract_quote_photo(CollectingDispatcher(), no, DOMAIN)) == {"quote_photo": "none"}
    asked_quantity = tracker({"quote_service": "general_cleaning"}, text="нет", intent="deny",
                             requested="quote_quantity")
    assert asyncio.run(validator.extract_quote_extras(CollectingDispatcher(), asked_quantity, DOMAIN)) == {}


def test_two_services_read_from_one_phrase_the_longest_name_wins():
    t = tracker(text="Посчитайте смету на генеральную уборку", intent="request_quote",
                entities=[{"entity": "service", "value": "general_cleaning"},
                          {"entity": "service", "value": "regular_cleaning"}])
    result = ValidateQuoteForm().validate_quote_service("regular_cleaning", CollectingDispatcher(), t, DOMAIN)
    assert result["quote_service"] == "general_cleaning"


# --- answers that come early, in any order --------------------------------------------------

def form_turn(slots: Optional[Dict[str, Any]] = None, text: str = "", intent: str = "inform",
              entities: Optional[List[dict]] = None, requested: Optional[str] = None,
              candidates: Optional[Dict[str, Any]] = None) -> Tracker:
    """The tracker quote_form hands its validator: the customer's message after the bot's
    question, then the slot candidates Rasa read from it by the domain's mappings."""
    candidates = candidates or {}
    all_slots = {"language": "ru", "failed_answers": 0, "requested_slot": requested, **(slots or {}), **candidates}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"},
              {"event": "action", "name": "quote_form"},
              *[{"event": "slot", "name": k, "value": v} for k, v in candidates.items()]]
    return Tracker("quote-early", all_slots, latest, events, False, None, {"name": "quote_form"}, "action_listen")


def validate(t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateQuoteForm().run(dispatcher, t, DOMAIN))
    return responses(dispatcher.messages), slots_of(events)


TOMORROW = "2026-12-04T00:00:00+03:00/2026-12-05T00:00:00+03:00"


@pytest.mark.parametrize("text,intent,count", [
    ("quote for 8 windows in Moscow", "request_quote", "8"),
    ("помыть 5 окон", "request_quote", "5"),
    ("4 окна", "inform", "4"),
    ("6 windows", "inform", "6"),
])
def test_the_first_message_gives_the_service_and_the_count_without_a_service_entity(text, intent, count):
    said, slots = validate(form_turn(text=text, intent=intent))
    assert slots["quote_service"] == "window_cleaning" and slots["quote_quantity"] == count
    assert slots["requested_slot"] == "quote_address" and said == []


def test_an_entity_the_catalogue_does_not_know_falls_back_to_the_message():
    said, slots = validate(form_turn(text="смета на мойку 4 окон", intent="request_quote",
                                     entities=[{"entity": "service", "value": "мойку"}],
                                     candidates={"quote_service": "мойку"}))
    assert slots["quote_service"] == "window_cleaning" and slots["quote_quantity"] == "4" and said == []


def test_a_place_typed_while_the_service_is_asked_is_kept_not_called_a_wrong_service():
    said, slots = validate(form_turn(text="Подольск", requested="quote_service",
                                     entities=[{"entity": "location", "value": "Подольск"}],
                                     candidates={"quote_service": "Подольск", "quote_address": "Подольск"}))
    assert said == ["utter_shared_noted"] and "utter_invalid_service" not in said
    assert slots["quote_address"] == "Подольск" and slots["quote_service"] is None
    assert slots.get("failed_answers", 0) == 0  # not counted as a wrong answer


def test_something_else_while_the_service_is_asked_is_still_no_such_service():
    said, slots = validate(form_turn(text="бассейн", requested="quote_service",
                                     candidates={"quote_service": "бассейн"}))
    assert said == ["utter_invalid_service"] and slots["quote_service"] is None


def test_urgent_date_then_far_place_before_the_service_is_known_is_a_clash():
    said, slots = validate(form_turn(text="завтра", requested="quote_service",
                                     entities=[{"entity": "time", "value": TOMORROW}],
                                     candidates={"quote_service": "завтра", "quote_date": TOMORROW}))
    assert said == ["utter_shared_noted"] and slots["quote_date"] == TOMORROW
    said, slots = validate(form_turn({"quote_date": TOMORROW}, text="Подольск", requested="quote_service",
                                     entities=[{"entity": "location", "value": "Подольск"}],
                                     candidates={"quote_service": "Подольск", "quote_address": "Подольск"}))
    assert said == ["utter_quote_urgent_far"] and "utter_invalid_service" not in said
    assert slots["quote_address"] == "Подольск" and slots["quote_date"] is None


def test_far_place_then_urgent_date_before_the_service_is_known_is_a_clash():
    said, slots = validate(form_turn({"quote_address": "Подольск"}, text="завтра", requested="quote_service",
                                     entities=[{"entity": "time", "value": TOMORROW}],
                                     candidates={"quote_service": "завтра", "quote_date": TOMORROW}))
    assert said == ["utter_quote_urgent_far"] and slots["quote_date"] is None


def test_far_place_and_urgent_date_in_one_message_are_named_once():
    said, slots = validate(form_turn(text="мойка окон в Подольске завтра", intent="request_quote",
                                     entities=[{"entity": "service", "value": "window_cleaning"},
                                               {"entity": "location", "value": "Подольске"},
                                               {"entity": "time", "value": TOMORROW}],
                                     candidates={"quote_service": "window_cleaning", "quote_address": "Подольске",
                                                 "quote_date": TOMORROW}))
    assert said == ["utter_quote_urgent_far"] and slots["quote_date"] is None


# --- closed days and the start a quote may promise ---------------------------------------------

@pytest.mark.parametrize("value", ["2026-12-06T00:00:00+03:00/2026-12-07T00:00:00+03:00",  # "в воскресенье"
                                   "2026-12-06T11:00:00+03:00",
                                   "2026-12-31T00:00:00+03:00/2027-01-01T00:00:00+03:00"])  # a holiday
def test_a_whole_closed_day_is_named_and_asked_again(value):
    dispatcher = CollectingDispatcher()
    result = ValidateQuoteForm().validate_quote_date(value, dispatcher, tracker(requested="quote_date"), DOMAIN)
    assert result["quote_date"] is None and responses(dispatcher.messages) == ["utter_quote_closed_day"]


def test_a_period_with_a_working_day_is_not_closed():
    cfg, now = business(), datetime.fromisoformat(NOW)
    weekend = WhenAnswer(datetime.fromisoformat("2026-12-05T00:00:00+03:00"),
                         datetime.fromisoformat("2026-12-07T00:00:00+03:00"), "на выходных")
    assert quote.check_date(weekend, None, cfg, now) is None  # Saturday is open


SATURDAY = "2026-12-12T00:00:00+03:00/2026-12-13T00:00:00+03:00"


def test_the_start_promised_is_one_the_working_hours_hold_for_the_job():
    cfg, now = business(), datetime.fromisoformat(NOW)
    deep = quote.promised_start(quote.QuoteAnswers(service="general_cleaning", date=SATURDAY), cfg, now)
    assert deep.at is None and deep.nearest.date().isoformat() == "2026-12-14"  # 10-13 and 14-18 hold no 5 h
    windows = quote.promised_start(quote.QuoteAnswers(service="window_cleaning", date=SATURDAY), cfg, now)
    assert windows.at.date().isoformat() == "2026-12-12" and windows.day_only
    at_ten = quote.promised_start(quote.QuoteAnswers(service="general_cleaning", date="2026-12-08T10:00:00+03:00"),
                                  cfg, now)
    assert at_ten.at.isoformat() == "2026-12-08T14:00:00+03:00" and not at_ten.day_only  # 10-15 crosses the break


def test_a_quote_for_a_day_the_job_does_not_fit_does_not_promise_it(store):
    answers = {**ANSWERS, "quote_date": SATURDAY, "language": "en"}
    messages, _ = run(ActionGiveQuote(), tracker(answers, sender="quote-sat"))
    timeline = messages[0]["timeline"]
    assert "starting" not in timeline and "Sat 12 Dec" in timeline and "to be confirmed" in timeline
    assert "Mon 14 Dec" in timeline
    messages, _ = run(ActionGiveQuote(), tracker({**ANSWERS, "quote_date": "2026-12-08T00:00:00+03:00/"
                                                  "2026-12-09T00:00:00+03:00"}, sender="quote-tue"))
    assert messages[0]["timeline"].endswith("начало вт, 8 декабря")


def test_before_the_service_is_known_every_answer_is_read_and_the_service_asked_first():
    cfg = business()
    assert quote.answerable(cfg, None) == ["quote_service", "quote_quantity", "quote_extras", "quote_address",
                                           "quote_date", "quote_photo"]
    assert quote.answerable(cfg, "window_cleaning") == quote.questions(cfg, "window_cleaning")
