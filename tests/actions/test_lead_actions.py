"""The real action classes with a tracker and CollectingDispatcher against a real database."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionHandoff, ActionSendFollowup, ActionStopProcess, ActionTellAppointments
from actions.lead import (
    ActionAnswerPrice,
    ActionAskMeetingTime,
    ActionBookMeeting,
    ActionQualifyLead,
    ValidateLeadForm,
)
from msgops import clock, lead
from msgops.business.config import business
from msgops.records import fetch

DOMAIN: Dict[str, Any] = {"forms": {"lead_form": {"required_slots": [
    "service", "location", "timing", "customer_name", "contact", "decision_maker"]}}}


def tracker(slots: Optional[Dict[str, Any]] = None, text: str = "", intent: str = "inform",
            entities: Optional[List[dict]] = None, requested: Optional[str] = None,
            events: Optional[List[dict]] = None, loop: Optional[str] = None) -> Tracker:
    all_slots = {"language": "ru", "failed_answers": 0, "requested_slot": requested, **(slots or {})}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    base_events = [{"event": "user", "text": text, "parse_data": latest, "input_channel": "rest"}]
    trailing = [{"event": "slot", "name": k, "value": v} for k, v in (slots or {}).items()]
    return Tracker("customer-1", all_slots, latest, (events or base_events) + trailing, False, None,
                   {"name": loop} if loop else {}, "action_listen")


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return dispatcher.messages, events


def responses(messages) -> List[str]:
    return [m.get("response") for m in messages]


def test_price_of_a_named_service(store):
    messages, _ = run(ActionAnswerPrice(), tracker(entities=[{"entity": "service", "value": "window_cleaning"}]))
    assert messages[0]["response"] == "utter_price_of_service"
    assert messages[0]["service_name"] == "Мойка окон" and "900" in messages[0]["price"]


def test_price_list_when_no_service(store):
    messages, _ = run(ActionAnswerPrice(), tracker(slots={"language": "en"}))
    assert messages[0]["response"] == "utter_price_list" and "Deep cleaning" in messages[0]["price_list"]


def test_bare_yes_is_not_a_name_and_second_failure_offers_help(store):
    validator = ValidateLeadForm()
    dispatcher = CollectingDispatcher()
    result = validator.validate_customer_name("да", dispatcher, tracker(text="да", requested="customer_name"), DOMAIN)
    assert result == {"customer_name": None, "failed_answers": 1}
    assert responses(dispatcher.messages) == ["utter_invalid_name"]
    dispatcher = CollectingDispatcher()
    result = validator.validate_customer_name("ок", dispatcher, tracker({"failed_answers": 1}, text="ок",
                                                                     requested="customer_name"), DOMAIN)
    assert responses(dispatcher.messages) == ["utter_invalid_name", "utter_offer_help_after_failures"]
    assert result["failed_answers"] == 0


def test_guard_flagged_text_is_never_stored(store):
    dispatcher = CollectingDispatcher()
    flagged = tracker(text="ывапролдж", entities=[{"entity": "input_issue", "value": "gibberish"}])
    assert ValidateLeadForm().validate_location("ывапролдж", dispatcher, flagged, DOMAIN)["location"] is None


def test_contact_is_normalised_and_past_time_refused(store):
    validator = ValidateLeadForm()
    assert validator.validate_contact("8 (916) 123-45-67", CollectingDispatcher(), tracker(requested="contact"),
                                      DOMAIN)["contact"] \
        == "+79161234567"
    dispatcher = CollectingDispatcher()
    past = (clock.now(business().tz) - timedelta(days=2)).isoformat()
    assert validator.validate_timing(past, dispatcher, tracker(requested="timing"), DOMAIN)["timing"] is None
    assert responses(dispatcher.messages) == ["utter_timing_in_past"]


def test_decision_role_is_asked_only_when_configured(store):
    slots = asyncio.run(ValidateLeadForm().required_slots(
        DOMAIN["forms"]["lead_form"]["required_slots"], CollectingDispatcher(), tracker(), DOMAIN))
    assert "decision_maker" not in slots and len(slots) == 5


def test_a_value_for_a_question_not_asked_is_dropped_quietly(store):
    """DIET read "Москва" as a service while the place was asked: keep the earlier service."""
    events = [{"event": "slot", "name": "service", "value": "window_cleaning"},
              {"event": "user", "text": "Москва, Марьино", "parse_data": {}},
              {"event": "slot", "name": "service", "value": "Москва"}]
    t = tracker({"service": "Москва"}, text="Москва, Марьино", requested="location", events=events)
    dispatcher = CollectingDispatcher()
    assert ValidateLeadForm().validate_service("Москва", dispatcher, t, DOMAIN) == {"service": "window_cleaning"}
    assert dispatcher.messages == []
    assert ValidateLeadForm().validate_location("Марьино", dispatcher, t, DOMAIN)["location"] == "Москва, Марьино"


def test_place_is_stored_without_its_preposition(store):
    t = tracker(text="в Химках", requested="location")
    assert ValidateLeadForm().validate_location("Химках", CollectingDispatcher(), t, DOMAIN)["location"] == "Химках"


def test_side_question_does_not_overwrite_an_earlier_answer(store):
    """"а вы работаете в выходные?" while the name is asked carries a time: keep "завтра после обеда"."""
    events = [{"event": "slot", "name": "timing", "value": "завтра после обеда"},
              {"event": "user", "text": "а вы работаете в выходные?", "parse_data": {}}]
    t = tracker({"timing": "2026-12-05T00:00:00+03:00"}, text="а вы работаете в выходные?",
                requested="customer_name", events=events)
    assert ValidateLeadForm().validate_timing("2026-12-05T00:00:00+03:00", CollectingDispatcher(), t, DOMAIN) \
        == {"timing": "завтра после обеда"}


def test_a_wrong_entity_in_the_first_message_is_dropped_quietly(store):
    """"Сколько стоит уборка?": "уборка" is no service of ours; the form asks, no scolding."""
    dispatcher = CollectingDispatcher()
    assert ValidateLeadForm().validate_service("уборка", dispatcher, tracker(text="Сколько стоит уборка?"), DOMAIN) \
        == {"service": None}
    assert dispatcher.messages == []


def test_form_answers_are_saved_as_they_arrive(store):
    t = tracker({"service": "general_cleaning", "location": "Химки"}, text="Химки", requested="location",
                loop="lead_form")
    run(ValidateLeadForm(), t)
    leads = fetch("leads")
    assert len(leads) == 1 and leads[0]["status"] == "in progress" and leads[0]["location"] == "Химки"


QUALIFIED = {"service": "general_cleaning", "location": "в Химках", "customer_name": "Ольга",
             "contact": "+79161234567"}


def _future(days: int = 3) -> str:
    return (clock.now(business().tz) + timedelta(days=days)).replace(hour=12, minute=0).isoformat()


def test_out_of_area_lead_gets_the_alternative_and_is_recorded(store):
    messages, events = run(ActionQualifyLead(), tracker({**QUALIFIED, "location": "Тверь", "timing": _future()}))
    assert responses(messages) == ["utter_alternative_out_of_area"]
    assert events[0]["value"] == "not_qualified"
    assert fetch("leads")[0]["status"] == "not qualified, alternative offered"


def test_low_budget_lead_hears_the_cheaper_package(store):
    messages, _ = run(ActionQualifyLead(), tracker({**QUALIFIED, "timing": _future(), "budget": "4000 RUB"}))
    assert messages[0]["response"] == "utter_alternative_low_budget"
    assert "Поддерживающая уборка" in messages[0]["alternative"]


def test_qualified_lead_is_offered_two_or_three_call_times(store):
    messages, events = run(ActionQualifyLead(), tracker({**QUALIFIED, "timing": _future()}))
    assert events[0]["value"] == "qualified"
    messages, _ = run(ActionAskMeetingTime(), tracker(QUALIFIED))
    assert 2 <= len(messages[0]["buttons"]) <= 3
    assert all(b["payload"].startswith('/inform{"time":') for b in messages[0]["buttons"])


def test_booking_writes_contact_meeting_brief_and_a_taken_slot_is_reoffered(store):
    start = lead.offer(business(), clock.now())[0]
    slots = {**QUALIFIED, "timing": _future(), "meeting_time": start.isoformat()}
    messages, _ = run(ActionBookMeeting(), tracker(slots))
    assert responses(messages) == ["utter_meeting_booked"]
    assert fetch("leads")[0]["status"] == "qualified, meeting booked"
    assert len(fetch("meetings")) == 1 and len(fetch("briefs")) == 1
    other = Tracker("customer-2", {"language": "ru", **slots}, {"text": "x", "entities": []}, [], False, None, {},
                    "action_listen")
    messages, events = run(ActionBookMeeting(), other)
    assert responses(messages) == ["utter_meeting_time_busy"]
    assert {"event": "followup", "name": "meeting_form"} in [
        {"event": e["event"], "name": e.get("name")} for e in events]
    assert len(fetch("meetings")) == 1


def test_a_place_inside_a_sentence_is_only_the_place(store):
    text = "sorry, can we continue in english? I'm in Odintsovo"
    t = tracker(text=text, requested="location",
                entities=[{"entity": "location", "value": "Odintsovo", "start": 42, "end": 51}])
    result = ValidateLeadForm().validate_location("Odintsovo", CollectingDispatcher(), t, DOMAIN)
    assert result["location"] == "Odintsovo"
    t = tracker(text="Москва, Марьино", requested="location",
                entities=[{"entity": "location", "value": "Москва", "start": 0, "end": 6}])
    assert ValidateLeadForm().validate_location("Москва", CollectingDispatcher(), t, DOMAIN)["location"] == (
        "Москва, Марьино")  # a short answer is the place as a whole


@pytest.mark.parametrize("place, asked", [
    ("Тверь", ["service", "location"]),  # out of the area: nothing more to ask before the alternative
    ("в Химках", ["service", "location", "timing", "customer_name", "contact"]),
    (None, ["service", "location", "timing", "customer_name", "contact"]),
])
def test_a_place_outside_the_area_ends_the_questions(store, place, asked):
    t = tracker({"location": place} if place else {})
    slots = asyncio.run(ValidateLeadForm().required_slots(DOMAIN["forms"]["lead_form"]["required_slots"],
                                                           CollectingDispatcher(), t, DOMAIN))
    assert slots == asked


def test_what_have_i_booked_tells_the_call_from_this_chat_only(store):
    messages, _ = run(ActionTellAppointments(), tracker(text="во сколько звонок?", intent="ask_appointments"))
    assert responses(messages) == ["utter_nothing_booked"]  # nothing yet: a way to book, not a new lead
    start = lead.offer(business(), clock.now())[0]
    run(ActionBookMeeting(), tracker({**QUALIFIED, "timing": _future(), "meeting_time": start.isoformat()}))
    messages, _ = run(ActionTellAppointments(), tracker(text="во сколько звонок?", intent="ask_appointments"))
    assert responses(messages) == ["utter_your_call"]
    assert messages[0]["contact"] == "+79161234567" and start.strftime("%H:%M") in messages[0]["when"]
    stranger = Tracker("customer-2", {"language": "ru"}, {"text": "когда звонок", "entities": []}, [], False,
                       None, {}, "action_listen")
    assert responses(run(ActionTellAppointments(), stranger)[0]) == ["utter_nothing_booked"]


def test_handoff_pauses_and_writes_a_brief(store):
    t = tracker({"service": "window_cleaning", "location": "Москва"}, text="позовите менеджера",
                intent="request_human")
    messages, events = run(ActionHandoff(), t)
    assert responses(messages) == ["utter_handoff"] and events[-1]["event"] == "pause"
    brief = fetch("briefs")[0]
    assert brief["fields"]["service"] == "window_cleaning" and brief["last_message"] == "позовите менеджера"


def test_followup_only_while_the_lead_is_in_progress(store):
    t = tracker({"service": "handyman"}, text="Одинцово")
    assert run(ActionSendFollowup(), t)[0] == []  # no lead yet
    run(ValidateLeadForm(), tracker({"service": "handyman"}, requested="location", loop="lead_form"))
    assert responses(run(ActionSendFollowup(), t)[0]) == ["utter_followup"]
    run(ActionStopProcess(), t)
    assert run(ActionSendFollowup(), t)[0] == []
    assert fetch("leads")[0]["status"] == "stopped by customer"


def test_store_outage_gets_a_plain_answer(monkeypatch, tmp_path):
    monkeypatch.setenv("MSGOPS_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.db")
    messages, events = run(ActionHandoff(), tracker({"service": "handyman"}))
    assert responses(messages) == ["utter_store_unavailable"] and events[-1]["event"] == "pause"


@pytest.mark.parametrize("name", ["action_answer_price", "validate_lead_form", "action_handoff"])
def test_action_server_contract(store, name):
    """A request shaped exactly like Rasa's reaches the registered action over HTTP."""
    from rasa_sdk.endpoint import create_app

    app = create_app("actions")
    body = {"next_action": name, "sender_id": "c1", "version": "3.6.21",
            "domain": {**DOMAIN, "slots": {}, "responses": {}},
            "tracker": {"sender_id": "c1", "slots": {"language": "en", "requested_slot": None},
                        "latest_message": {"text": "how much?", "intent": {"name": "ask_price"}, "entities": []},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}
    _, response = app.test_client.post("/webhook", json=body)
    assert response.status == 200, response.text
    assert "events" in response.json and "responses" in response.json
