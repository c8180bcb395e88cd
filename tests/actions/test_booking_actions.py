"""The booking forms' validators with a real tracker: what counts as an answer."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import NONE, ValidateBookingForm, ValidateCancelForm, ValidateReviewForm
from actions.conversation import ActionTellAppointments
from msgops import booking, clock
from msgops.business.config import business
from msgops.conversation import Conversation

DOMAIN: Dict[str, Any] = {"forms": {
    "booking_form": {"required_slots": ["booking_service", "booking_address", "booking_slot", "customer_name",
                                        "contact", "booking_notes"]},
    "cancel_form": {"required_slots": ["booking_reason"]},
    "review_form": {"required_slots": ["review_rating", "review_text"]},
}}


def asked(slot: str, text: str, intent: str, confidence: float = 0.95, form: str = "booking_form",
          entities: Optional[List[dict]] = None, slots: Optional[Dict[str, Any]] = None) -> Tracker:
    """The form runs on the customer's answer to the question about `slot`."""
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities or []}
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"},
              {"event": "action", "name": form}]
    values = {"language": "ru", "failed_answers": 0, "requested_slot": slot, **(slots or {})}
    return Tracker("customer-1", values, latest, events, False, None, {"name": form}, form)


def run(validator, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(validator.run(dispatcher, tracker, DOMAIN))
    return [m.get("response") for m in dispatcher.messages], {e["name"]: e["value"] for e in events
                                                              if e.get("event") == "slot"}


def test_a_bare_name_read_as_stop_is_still_the_name(store):
    responses, slots = run(ValidateBookingForm(), asked("customer_name", "Mike", "stop", confidence=0.67))
    assert slots["customer_name"] == "Mike" and responses == []


def test_a_bare_name_is_the_name_even_when_nlu_is_sure_it_is_stop(store):
    _, slots = run(ValidateBookingForm(), asked("customer_name", "Mike", "stop", confidence=0.98))
    assert slots["customer_name"] == "Mike"


@pytest.mark.parametrize("text", ["stop", "never mind", "cancel", "хватит", "отмена", "передумал"])
def test_a_stop_word_is_not_a_name(store, text):
    _, slots = run(ValidateBookingForm(), asked("customer_name", text, "stop", confidence=0.99))
    assert "customer_name" not in slots        # the form rejects; the stop rule ends it


@pytest.mark.parametrize("text, kept", [("Марьино", None), ("Москва, Марьино", None),
                                         ("Москва, Марьино, Братиславская 12", "Москва, Марьино, Братиславская 12")])
def test_a_town_alone_is_no_address_for_a_visit(store, text, kept):
    dispatcher = CollectingDispatcher()
    slots = ValidateBookingForm().validate_booking_address(text, dispatcher, asked("booking_address", text, "inform"),
                                                           DOMAIN)
    assert slots["booking_address"] == kept
    assert [m["response"] for m in dispatcher.messages] == ([] if kept else ["utter_invalid_booking_address"])


def test_no_answers_the_notes_but_not_the_address(store):
    _, slots = run(ValidateBookingForm(), asked("booking_notes", "нет", "deny"))
    assert slots["booking_notes"] == NONE
    responses, slots = run(ValidateBookingForm(), asked("booking_address", "нет", "deny"))
    assert responses == ["utter_please_answer"] and slots == {"booking_address": None}


def test_a_reason_nlu_misreads_is_kept_word_for_word(store):
    _, slots = run(ValidateCancelForm(), asked("booking_reason", "a work trip", "stop", confidence=0.55,
                                               form="cancel_form", slots={"language": "en"}))
    assert slots["booking_reason"] == "a work trip"


def test_gibberish_is_no_reason(store):
    flagged = asked("booking_reason", "ывапролдж", "nlu_fallback", form="cancel_form",
                    entities=[{"entity": "input_issue", "value": "gibberish"}])
    responses, slots = run(ValidateCancelForm(), flagged)
    assert slots["booking_reason"] is None and responses == ["utter_invalid_booking_notes"]


def test_a_typed_rating_read_as_yes_is_the_rating(store):
    responses, slots = run(ValidateReviewForm(), asked("review_rating", "пятёрка", "affirm", confidence=0.46,
                                                       form="review_form"))
    assert slots["review_rating"] == "5" and "utter_please_answer" not in responses


def test_a_rating_out_of_range_is_asked_again(store):
    responses, slots = run(ValidateReviewForm(), asked("review_rating", "10 из 10", "inform", form="review_form"))
    assert slots["review_rating"] is None and responses == ["utter_invalid_review_rating"]


def test_what_have_i_booked_tells_the_visit_with_move_and_cancel_buttons(store):
    cfg = business()
    start = booking.offer(cfg, "window_cleaning", "city", clock.now())[0]
    booking.book(Conversation("customer-1", "rest", "en"), booking.BookingAnswers(
        service="window_cleaning", address="Moscow, Arbat 1", slot=start.isoformat(), customer_name="Mike",
        contact="+79161234567", notes=None), cfg, clock.now())
    dispatcher = CollectingDispatcher()
    latest = {"text": "when are you coming?", "intent": {"name": "ask_appointments", "confidence": 0.9}, "entities": []}
    asyncio.run(ActionTellAppointments().run(dispatcher, Tracker(
        "customer-1", {"language": "en"}, latest, [], False, None, {}, "action_listen"), DOMAIN))
    (visit,) = dispatcher.messages
    assert visit["response"] == "utter_your_visit" and visit["address"] == "Moscow, Arbat 1"
    assert [b["payload"] for b in visit["buttons"]] == ["/reschedule", "/cancel_booking"]


def test_a_service_the_nlu_missed_is_read_from_the_request(store):
    _, slots = run(ValidateBookingForm(), asked(None, "запишите к мастеру на завтра на 9 утра", "book"))
    assert slots["booking_service"] == "handyman"
    _, slots = run(ValidateBookingForm(), asked(None, "хочу записаться на генеральную уборку", "book"))
    assert slots["booking_service"] == "general_cleaning"  # a service with crews and a duration
