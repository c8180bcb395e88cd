"""Behaviour every process form shares, kept out of the processes themselves.

A refused answer gets the question's own re-ask ("utter_invalid_<slot>"); after a second
refusal in a row the customer is offered a human, to try again, or to stop. The counter
lives in the `failed_answers` slot and is reset by any accepted answer.

A bare yes or no is an answer only to the questions a form lists in `yes_no_slots` (notes:
"no", a review's text: "no"); to any other question it gets "I need an answer to this" and
the question again. Forms without such questions may leave this to rules instead
(data/rules/interruptions.yml): a rule answers before the form runs.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from msgops.business.answers import read_contact, read_name
from msgops.business.catalogue import match_service
from msgops.business.config import Service, business

OFFER_HELP_AFTER = 2
# A free-form answer ("Mike", "a work trip") that NLU reads as stop or a request for a human
# is still the answer unless NLU is this sure of it.
LEAVING_INTENTS = ("stop", "request_human")
LEAVING_CONFIDENCE = 0.8


def intent_of(tracker: Tracker) -> Tuple[Optional[str], float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


class ProcessFormValidator(FormValidationAction, ABC):
    """Abstract (rasa-sdk skips abstract classes when it registers actions)."""

    yes_no_slots: Tuple[str, ...] = ()

    @abstractmethod
    def name(self) -> str:
        """validate_<form name> of the concrete form."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        asked = tracker.get_slot("requested_slot")
        answered = any(e.get("event") == "slot" and e.get("name") == asked for e in events)
        if (intent_of(tracker)[0] in ("affirm", "deny") and asked and asked not in self.yes_no_slots
                and not answered and self.runs_after_the_customer(tracker)):
            dispatcher.utter_message(response="utter_please_answer")
            events.append(SlotSet(asked, None))  # a validated "nothing": the form asks again
        return events

    @staticmethod
    def runs_after_the_customer(tracker: Tracker) -> bool:
        """Whether the form runs on the customer's message, not on coming back to the form
        after a rule answered it (Rasa appends the form's own action before validating)."""
        actions = [e.get("name") for e in tracker.events if e.get("event") == "action"]
        return len(actions) >= 2 and actions[-2] == "action_listen"

    @staticmethod
    def wants_to_leave(tracker: Tracker) -> bool:
        """A message that is surely "stop" or "a human, please", never an answer."""
        intent, confidence = intent_of(tracker)
        return intent in LEAVING_INTENTS and confidence >= LEAVING_CONFIDENCE

    @staticmethod
    def latest_issue(tracker: Tracker) -> Optional[str]:
        """What the input guard said about the last message (gibberish, emoji...), if anything."""
        for entity in tracker.latest_message.get("entities", []):
            if entity.get("entity") == "input_issue":
                return entity.get("value")
        return None

    @staticmethod
    def service_named_in(text: Optional[str], tracker: Tracker, offered: Callable[[Service], bool] = bool,
                         ) -> Optional[Service]:
        """The catalogue's reading of a message the NLU tagged no service in: "quote for 8
        windows", "запишите к мастеру" name a service by words or aliases the owner listed in
        business.yml, which DIET may not have learnt. None when a service entity is there
        (the slot mapping takes it) or the catalogue finds nothing the form offers."""
        if not text or any(e.get("entity") == "service" for e in tracker.latest_message.get("entities", [])):
            return None
        service = match_service(text, business())
        return service if service is not None and offered(service) else None

    def accept(self, slot: str, value: Any, **more: Any) -> Dict[str, Any]:
        return {slot: value, "failed_answers": 0, **more}

    @staticmethod
    def is_asked(slot: str, tracker: Tracker) -> bool:
        """Whether the form's current question is this slot's.

        Not while the form is being opened: then a value came from the first message's
        entities, and a wrong one is dropped quietly; the form asks the question next.
        """
        return tracker.get_slot("requested_slot") == slot

    def earlier_answer(self, slot: str, tracker: Tracker) -> Optional[Dict[str, Any]]:
        """Keep an answer already given when a message meant for another question (or a side
        question like "do you work on weekends?") carries a value for this slot."""
        earlier = self.previous_value(slot, tracker)
        if earlier is not None and not self.is_asked(slot, tracker):
            return {slot: earlier}
        return None

    @staticmethod
    def previous_value(slot: str, tracker: Tracker) -> Any:
        """The slot's value before the customer's last message."""
        events = list(tracker.events)
        last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
        for event in reversed(events[:last_user]):
            if event.get("event") == "slot" and event.get("name") == slot:
                return event.get("value")
        return None

    def refuse(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker,
               response: Optional[str] = None) -> Dict[str, Any]:
        """Re-ask the question that was answered wrongly.

        A value the NLU picked up for a question that was *not* asked (a place read as a
        service, say) is dropped quietly and the earlier answer kept: the customer did not
        answer that question, so there is nothing to correct them about.
        """
        if not self.is_asked(slot, tracker):
            return {slot: self.previous_value(slot, tracker)}
        failures = int(tracker.get_slot("failed_answers") or 0) + 1
        dispatcher.utter_message(response=response or f"utter_invalid_{slot}")
        if failures >= OFFER_HELP_AFTER:
            dispatcher.utter_message(response="utter_offer_help_after_failures")
            failures = 0
        return {slot: None, "failed_answers": failures}


class ContactQuestions:
    """The name and contact questions, the same wherever a process asks them (lead, booking)."""

    async def extract_customer_name(self: ProcessFormValidator, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        """A bare name the NLU did not tag is still the answer to "what is your name?", even
        when the NLU is sure it means stop ("Mike" read as stop at 0.98): names are an open
        vocabulary no model has seen all of, and read_name refuses the words people leave
        with ("stop", "never mind", "хватит"). A tagged name comes through the slot mapping."""
        text = tracker.latest_message.get("text") or ""
        if (not self.is_asked("customer_name", tracker) or text.startswith("/") or self.latest_issue(tracker)
                or any(e.get("entity") == "person" for e in tracker.latest_message.get("entities", []))
                or read_name(text) is None):
            return {}
        return {"customer_name": text}

    def validate_customer_name(self: ProcessFormValidator, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("customer_name", tracker)
        if kept is not None:
            return kept
        name = read_name(str(value or "")) if not self.latest_issue(tracker) else None
        if name is None:
            return self.refuse("customer_name", dispatcher, tracker, "utter_invalid_name")
        return self.accept("customer_name", name)

    def validate_contact(self: ProcessFormValidator, value: Any, dispatcher: CollectingDispatcher,
                         tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("contact", tracker)
        if kept is not None:
            return kept
        found = read_contact(str(value or ""), business().business.phone_region)
        if found is None:
            return self.refuse("contact", dispatcher, tracker)
        return self.accept("contact", found.value)
