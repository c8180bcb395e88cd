"""Behaviour every process form shares, kept out of the processes themselves.

A refused answer gets the question's own re-ask ("utter_invalid_<slot>"); after a second
refusal in a row the customer is offered a human, to try again, or to stop. The counter
lives in the `failed_answers` slot and is reset by any accepted answer.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

OFFER_HELP_AFTER = 2


class ProcessFormValidator(FormValidationAction, ABC):
    """Abstract (rasa-sdk skips abstract classes when it registers actions)."""

    @abstractmethod
    def name(self) -> str:
        """validate_<form name> of the concrete form."""

    @staticmethod
    def latest_issue(tracker: Tracker) -> Optional[str]:
        """What the input guard said about the last message (gibberish, emoji...), if anything."""
        for entity in tracker.latest_message.get("entities", []):
            if entity.get("entity") == "input_issue":
                return entity.get("value")
        return None

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
