"""Rasa glue for the lead-capture process (msgops/lead.py holds the process itself)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import ServiceUnavailable, call_service, config, conversation, language, latest_entity
from actions.forms_base import ContactQuestions, ProcessFormValidator
from msgops import clock, lead
from msgops.business.answers import is_email, read_when
from msgops.business.area import area_summary
from msgops.business.catalogue import match_service, price_list, price_text
from msgops.business.money import format_money, parse_money
from msgops.business.qualification import outside_the_area
from msgops.business.when_text import format_short, format_when
from msgops.choices import Choice, buttons, intent_payload
from msgops.integrations.calendar import SlotTaken

LEAD_SLOTS = ("service", "location", "timing", "customer_name", "contact", "budget", "decision_maker")
PROCESS_SLOTS = ("service", "location", "timing", "budget", "decision_maker", "meeting_time",
                 "lead_outcome", "failed_answers")


_LEADING_PREPOSITION = re.compile(r"^(?:в|во|на|из|in|at|near)\s+", re.IGNORECASE)


def answers_from(tracker: Tracker) -> lead.LeadAnswers:
    return lead.LeadAnswers(**{slot: tracker.get_slot(slot) for slot in LEAD_SLOTS})


class ActionAnswerPrice(Action):
    """Answer the price question first: the customer asked it, the questions come after."""

    def name(self) -> str:
        return "action_answer_price"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        service = cfg.service(latest_entity(tracker, "service") or tracker.get_slot("service") or "")
        if service:
            dispatcher.utter_message(response="utter_price_of_service",
                                     service_name=service.name.get(lang),
                                     price=price_text(service, cfg, lang))
        else:
            dispatcher.utter_message(response="utter_price_list", price_list=price_list(cfg, lang))
        return []


class ActionAskService(Action):
    """Ask for the service with the catalogue as buttons, so nobody has to guess our names."""

    def name(self) -> str:
        return "action_ask_service"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        choices = [Choice(s.name.get(lang), intent_payload("inform", service=s.id)) for s in self.offered(cfg)]
        dispatcher.utter_message(response="utter_ask_service", buttons=buttons(choices))
        return []

    @staticmethod
    def offered(cfg) -> list:
        """The services to choose from: the whole catalogue."""
        return list(cfg.services)


class ValidateLeadForm(ContactQuestions, ProcessFormValidator):
    yes_no_slots = ("decision_maker",)

    def name(self) -> str:
        return "validate_lead_form"

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[str]:
        cfg = config()
        if outside_the_area(tracker.get_slot("location"), cfg):
            # The place already decides the lead: asking the time, name and contact first
            # would only make the customer wait for a "no". The alternative comes at once.
            return [slot for slot in domain_slots if slot in ("service", "location")]
        if cfg.qualification.ask_decision_role:
            return domain_slots
        return [slot for slot in domain_slots if slot != "decision_maker"]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        answers = answers_from(tracker)
        for event in events:
            if event.get("event") == "slot" and event["name"] in LEAD_SLOTS:
                setattr(answers, event["name"], event["value"])
        if answers.filled():
            try:
                await call_service(dispatcher, lead.record_progress, conversation(tracker),
                                   answers, config(), clock.now())
            except ServiceUnavailable:
                pass  # the answers stay in the tracker; the customer was told
        return events

    def _plain_text(self, tracker: Tracker) -> Optional[str]:
        """The customer's words, unless the guard flagged them (gibberish, emoji only...)."""
        if self.latest_issue(tracker):
            return None
        return tracker.latest_message.get("text")

    def validate_service(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("service", tracker)
        if kept is not None:
            return kept
        service = match_service(str(value or ""), config()) if not self.latest_issue(tracker) else None
        if service is None:
            return self.refuse("service", dispatcher, tracker)
        return self.accept("service", service.id)

    def validate_location(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("location", tracker)
        if kept is not None:
            return kept
        # Asked for the place, the whole answer is the place ("Москва, Марьино"), not one entity;
        # but in a sentence around it ("sorry, can we go on in English? I'm in Odintsovo") only
        # the stretch the NLU tagged as places is, or the manager's card says the whole sentence.
        asked = tracker.get_slot("requested_slot") == "location" and self._plain_text(tracker)
        if asked and len(str(asked).split()) > 4:
            asked = _tagged_places(str(asked), tracker) or asked
        text = str((asked if asked and not str(asked).startswith("/") else value) or "").strip()
        text = _LEADING_PREPOSITION.sub("", text)  # "в Химках" -> "Химках"
        if self.latest_issue(tracker) or len(text) < 2 or len(text) > 200 or not any(c.isalpha() for c in text):
            return self.refuse("location", dispatcher, tracker)
        return self.accept("location", text)

    def validate_timing(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("timing", tracker)
        if kept is not None:
            return kept
        cfg = config()
        now = clock.now(cfg.tz)
        when = read_when(str(value or ""), now, language(tracker)) if not self.latest_issue(tracker) else None
        if when is None:
            return self.refuse("timing", dispatcher, tracker)
        if when.end < now:
            return self.refuse("timing", dispatcher, tracker, "utter_timing_in_past")
        text = self._plain_text(tracker) or str(value)
        return self.accept("timing", text if tracker.get_slot("requested_slot") == "timing" else when.iso)


class ActionAskDecisionMaker(Action):
    def name(self) -> str:
        return "action_ask_decision_maker"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_decision_maker")
        return []


class ActionQualifyLead(Action):
    """Apply the owner's rules; a lead that does not fit hears a concrete alternative."""

    def name(self) -> str:
        return "action_qualify_lead"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, answers = config(), language(tracker), answers_from(tracker)
        now = clock.now(cfg.tz)
        try:
            verdict = await call_service(dispatcher, lead.finish_questions, conversation(tracker),
                                         answers, cfg, now)
        except ServiceUnavailable:
            return [SlotSet("lead_outcome", None)]
        if verdict.qualified:
            dispatcher.utter_message(response="utter_lead_qualified",
                                     customer_name=answers.customer_name or "",
                                     manager_name=cfg.manager.name.get(lang))
            return [SlotSet("lead_outcome", "qualified")]
        self._offer_alternative(dispatcher, verdict, answers, cfg, lang, now)
        return [SlotSet("lead_outcome", "not_qualified")]

    @staticmethod
    def _offer_alternative(dispatcher, verdict, answers, cfg, lang, now) -> None:
        service = cfg.service(answers.service or "")
        currency = cfg.business.currency
        if verdict.alternative == "out_of_area":
            dispatcher.utter_message(response="utter_alternative_out_of_area",
                                     location=answers.location, area=area_summary(cfg, lang))
        elif verdict.alternative == "low_budget":
            options = [cfg.service(s) for s in verdict.details.get("alternatives", [])][:2]
            alternative = "; ".join(f"{s.name.get(lang)} ({price_text(s, cfg, lang)})" for s in options)
            fallback = "консультация менеджера" if lang == "ru" else "a consultation with a manager"
            money = parse_money(answers.budget or "")
            dispatcher.utter_message(
                response="utter_alternative_low_budget", service_name=service.name.get(lang),
                min_order=format_money(service.min_order, currency, lang),
                budget=format_money(money[0], money[1] or currency, lang) if money else answers.budget,
                alternative=alternative or fallback)
        elif verdict.alternative == "too_urgent":
            slots = lead.call_slots(cfg, now, limit=1)
            earliest = format_when(slots[0], cfg.tz, lang) if slots else "—"
            dispatcher.utter_message(response="utter_alternative_too_urgent",
                                     timing=answers.timing,
                                     hours=f"{cfg.qualification.min_lead_time_hours:g}",
                                     earliest=earliest)
        else:
            dispatcher.utter_message(response="utter_alternative_not_decision_maker")


class ActionAskMeetingTime(Action):
    """Offer the best 2-3 free call times as buttons; typing another time works too."""

    def name(self) -> str:
        return "action_ask_meeting_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        try:
            slots = await call_service(dispatcher, lead.offer, cfg, clock.now())
        except ServiceUnavailable:
            return []
        if not slots:
            dispatcher.utter_message(response="utter_no_free_slots")
            return []
        offer_buttons(dispatcher, "utter_ask_meeting_time", slots, cfg, lang)
        return []


def offer_buttons(dispatcher: CollectingDispatcher, response: str, slots, cfg, lang, **kwargs) -> None:
    choices = [Choice(format_short(s, cfg.tz, lang), intent_payload("inform", time=s.isoformat()))
               for s in slots]
    dispatcher.utter_message(response=response, buttons=buttons(choices),
                             timezone_label=cfg.business.city.get(lang), **kwargs)
    dispatcher.utter_message(response="utter_meeting_other_time_hint")


def when_label(when, cfg, lang) -> str:
    """A typed time as the customer meant it: "сб, 5 декабря" for a day, with the hour if given."""
    text = format_when(when.start, cfg.tz, lang)
    return text.rsplit(",", 1)[0] if when.end - when.start >= timedelta(hours=20) else text


class ValidateMeetingForm(ProcessFormValidator):
    def name(self) -> str:
        return "validate_meeting_form"

    async def validate_meeting_time(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        cfg, lang = config(), language(tracker)
        now = clock.now()
        if self.latest_issue(tracker):
            return self.refuse("meeting_time", dispatcher, tracker)
        try:
            start, understood = await call_service(dispatcher, lead.slot_for, str(value or ""), cfg, now, lang)
        except ServiceUnavailable:
            return {"meeting_time": None}
        if not understood:
            return self.refuse("meeting_time", dispatcher, tracker)
        if start is None:
            # The form asks again right after this, with the nearest free times as buttons.
            requested = read_when(str(value), now.astimezone(cfg.tz), lang)
            dispatcher.utter_message(response="utter_meeting_time_busy",
                                     requested=when_label(requested, cfg, lang) if requested else str(value))
            return {"meeting_time": None}
        return self.accept("meeting_time", start.isoformat())


class ActionBookMeeting(Action):
    def name(self) -> str:
        return "action_book_meeting"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, answers = config(), language(tracker), answers_from(tracker)
        start = read_when(tracker.get_slot("meeting_time") or "", clock.now(cfg.tz))
        try:
            await call_service(dispatcher, lead.book_call, conversation(tracker), answers, cfg,
                               start.start, clock.now())
        except SlotTaken:
            # Another customer took it between the offer and the click: offer fresh times.
            dispatcher.utter_message(response="utter_meeting_time_busy",
                                     requested=format_when(start.start, cfg.tz, lang))
            return [SlotSet("meeting_time", None), FollowupAction("meeting_form")]
        except ServiceUnavailable:
            return []
        dispatcher.utter_message(response="utter_meeting_booked_email" if is_email(answers.contact)
                                 else "utter_meeting_booked",
                                 when=f"{format_when(start.start, cfg.tz, lang)} ({cfg.business.city.get(lang)})",
                                 manager_name=cfg.manager.name.get(lang), contact=answers.contact)
        return reset_process_slots()


def _tagged_places(text: str, tracker: Tracker) -> Optional[str]:
    """The text from the first to the last place the NLU tagged in it, if any."""
    spans = [(e["start"], e["end"]) for e in tracker.latest_message.get("entities", [])
             if e.get("entity") == "location" and "start" in e and "end" in e]
    return text[min(s for s, _ in spans):max(e for _, e in spans)] if spans else None


def reset_process_slots() -> List[EventType]:
    """Forget this request's details; the name and contact stay for the customer's next one."""
    return [SlotSet(slot, None) for slot in PROCESS_SLOTS]
