"""Actions that belong to no single process: handoff, stop, follow-up and unclear input."""
from __future__ import annotations

from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking import booking_answers_from, labels_for, reset_booking_slots, service_name, when_text
from actions.common import ServiceUnavailable, call_service, config, conversation, language
from actions.lead import answers_from, reset_process_slots
from actions.quote import quote_answers_from, reset_quote_slots
from msgops import booking, clock, lead
from msgops.business.opening import next_open_text
from msgops.choices import Choice, buttons, intent_payload

# What the bot did, as a manager reads it in a brief; other actions are bookkeeping.
_STEPS = {
    "action_answer_price": "answered the price question",
    "lead_form": "asked the lead questions",
    "action_qualify_lead": "checked the lead against the qualification rules",
    "meeting_form": "offered call times",
    "action_book_meeting": "booked a call",
    "quote_form": "asked the quote questions",
    "action_give_quote": "gave an itemised quote",
    "booking_form": "asked the booking questions",
    "action_confirm_booking": "showed the booking summary",
    "action_create_booking": "booked a visit",
    "action_start_reschedule": "found the booking and stated the policy for moving it",
    "action_reschedule_booking": "moved the visit",
    "action_start_cancel": "found the booking and stated the cancellation policy",
    "action_cancel_booking": "cancelled the visit",
    "action_booking_reminder": "sent a visit reminder",
    "review_form": "asked for a review",
    "action_default_fallback": "could not understand a message",
    "utter_iamabot": "said it is a bot",
    "utter_out_of_scope": "declined an off-topic question",
    "action_handle_media": "received a file or voice note",
    "action_send_followup": "sent a follow-up",
}


def _tried(tracker: Tracker) -> List[str]:
    """What the bot did in this conversation, in the manager's words, in order, once each."""
    steps: List[str] = []
    for event in tracker.events:
        step = _STEPS.get(str(event.get("name", ""))) if event.get("event") == "action" else None
        if step and step not in steps:
            steps.append(step)
    return steps[-8:]


class ActionHandoff(Action):
    """Hand the chat to a person with a brief, and pause the bot until they give it back."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        intent = _process_intent(tracker)
        try:
            await call_service(dispatcher, lead.close, conversation(tracker), answers_from(tracker),
                               cfg, clock.now(), lead.STATUS_HUMAN, tried=_tried(tracker),
                               intent=intent, more_fields=_process_fields(tracker))
        except ServiceUnavailable:
            return [ConversationPaused()]
        dispatcher.utter_message(response="utter_handoff", manager_name=cfg.manager.name.get(lang),
                                 next_open=next_open_text(cfg, clock.now(), lang))
        return [ConversationPaused()]


def _process_fields(tracker: Tracker) -> dict:
    """The quote's and the booking's answers so far, named for the manager (quote_address,
    booking_slot...); name and contact are the lead's fields already."""
    fields = {f"quote_{k}": v for k, v in quote_answers_from(tracker).filled().items()
              if k not in ("customer_name", "contact")}
    booking = booking_answers_from(tracker)
    fields.update({f"booking_{k}": v for k in ("service", "address", "slot", "notes")
                   if (v := getattr(booking, k))})
    if tracker.get_slot("booking_ref"):
        fields["booking_id"] = tracker.get_slot("booking_ref")
    return fields


# Intents that never start a process: the brief names the one before them.
_NOT_A_PROCESS = (None, "request_human", "inform", "affirm", "deny", "nlu_fallback", "greet", "goodbye", "thank",
                  "bot_challenge", "out_of_scope", "share_media", "share_location", "share_contact")


def _process_intent(tracker: Tracker) -> str:
    """The intent that started what the customer was doing, for the brief's first line."""
    for event in reversed(tracker.events):
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if event.get("event") == "user" and intent not in _NOT_A_PROCESS and not intent.startswith("EXTERNAL_"):
            return intent
    return "request_human"


class ActionStopProcess(Action):
    def name(self) -> str:
        return "action_stop_process"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        answers = answers_from(tracker)
        if answers.filled():
            try:
                await call_service(dispatcher, lead.close, conversation(tracker), answers, config(),
                                   clock.now(), lead.STATUS_STOPPED)
            except ServiceUnavailable:
                return reset_process_slots() + reset_quote_slots() + reset_booking_slots()
        # Stopping half-way through moving or cancelling a visit leaves the visit as it was:
        # say so, or the customer may think it was cancelled.
        changing = tracker.get_slot("booking_stage") in ("rescheduling", "cancelling", "cancel_confirming")
        stopped = "utter_booking_kept" if changing else "utter_process_stopped"
        dispatcher.utter_message(response=stopped)
        return reset_process_slots() + reset_quote_slots() + reset_booking_slots()


class ActionTellAppointments(Action):
    """"When will you call me?", "на когда я записана?": what the customer has booked, from
    any of their chats, instead of reading the question as a new request."""

    def name(self) -> str:
        return "action_tell_appointments"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        now = clock.now()
        try:
            call = await call_service(dispatcher, lead.upcoming_call, tracker.sender_id, now, cfg)
            visit = await call_service(dispatcher, booking.upcoming, tracker.sender_id, now)
        except ServiceUnavailable:
            return []
        zone = cfg.business.city.get(lang)
        if call:
            dispatcher.utter_message(response="utter_your_call", when=when_text(call.start, cfg, lang),
                                     timezone_label=zone, manager_name=cfg.manager.name.get(lang),
                                     contact=call.contact or "—")
        if visit:
            dispatcher.utter_message(
                response="utter_your_visit", service_name=service_name(visit.service, cfg, lang),
                when=when_text(visit.start, cfg, lang), timezone_label=zone, address=visit.address,
                buttons=buttons([Choice(labels["reschedule"], intent_payload("reschedule")),
                                 Choice(labels["cancel"], intent_payload("cancel_booking"))]))
        if not call and not visit:
            dispatcher.utter_message(response="utter_nothing_booked", buttons=buttons([
                Choice(labels["book"], intent_payload("book")),
                Choice(labels["prices"], intent_payload("ask_price"))]))
        return []


class ActionSendFollowup(Action):
    """The scheduler's one gentle reminder; silent if the process ended in the meantime."""

    def name(self) -> str:
        return "action_send_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        try:
            due = await call_service(dispatcher, lead.followup_is_due, tracker.sender_id)
        except ServiceUnavailable:
            return []
        if not due:
            return []
        lang = language(tracker)
        name = tracker.get_slot("customer_name")
        greeting = f"{name}, " if name else ""
        choices = [] if tracker.active_loop.get("name") else [
            Choice("Продолжить" if lang == "ru" else "Carry on", intent_payload("ask_price")),
            Choice("Не нужно" if lang == "ru" else "No, thanks", intent_payload("stop")),
        ]
        dispatcher.utter_message(response="utter_followup", customer_name_greeting=greeting,
                                 buttons=buttons(choices))
        return []


class ActionDefaultFallback(Action):
    """Unclear input: say precisely what was wrong with it (empty, emoji, gibberish, too long).

    As the NLU fallback (a rule for `nlu_fallback`) it is one step of the dialogue. As the
    core fallback (no policy was sure what to do) it reverts the message like Rasa's own
    fallback, so the uncertain state is left as it was and cannot repeat in a loop.
    """

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        issue = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                      if e.get("entity") == "input_issue"), None)
        dispatcher.utter_message(response=f"utter_input_{issue}" if issue else "utter_default")
        if tracker.latest_message.get("intent", {}).get("name") == "nlu_fallback":
            return []
        return [UserUtteranceReverted()]


class ActionHandleMedia(Action):
    """What the channels send that is not text: files are kept, voice and stickers get a nudge."""

    def name(self) -> str:
        return "action_handle_media"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        intent = tracker.latest_message.get("intent", {}).get("name")
        entities = {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities", [])}
        if intent != "share_media":
            dispatcher.utter_message(response="utter_shared_noted")
            return []
        kind = entities.get("media_type")
        if kind in ("voice", "audio"):
            dispatcher.utter_message(response="utter_media_voice")
        elif kind == "sticker":
            dispatcher.utter_message(response="utter_media_sticker")
            return []
        else:
            dispatcher.utter_message(response="utter_media_file")
        media = {k: entities[k] for k in ("media_type", "media_id", "media_url", "media_caption") if entities.get(k)}
        try:
            await call_service(dispatcher, lead.attach_media, tracker.sender_id, media)
        except ServiceUnavailable:
            pass
        return []
