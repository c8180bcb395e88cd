"""Rasa glue for bookings (msgops/booking.py holds the process itself): book a visit, move
it, cancel it, the reminder, and the review after it."""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import ServiceUnavailable, call_service, config, conversation, language, latest_entity
from actions.forms_base import ContactQuestions, ProcessFormValidator
from actions.lead import ActionAskService, when_label
from msgops import booking, clock, quote
from msgops.business.area import area_summary, find_zone, has_house_number
from msgops.business.catalogue import match_service
from msgops.business.config import BusinessConfig
from msgops.business.money import format_money
from msgops.business.when_text import format_duration, format_short, format_when
from msgops.choices import Choice, buttons, intent_payload

BOOKING_SLOTS = ("booking_service", "booking_address", "booking_when", "booking_slot", "booking_notes",
                 "booking_reason", "booking_ref", "booking_stage", "review_rating", "review_text")
NONE = "none"  # "no notes" / "no reason" / "no comment"

# Button titles (within the 20 characters WhatsApp allows).
LABELS = {
    "ru": {"yes_book": "Да, записать", "other_time": "Другое время", "change": "Изменить другое",
           "more": "Ещё время", "no_notes": "Нет", "skip": "Пропустить", "address": "Адрес",
           "notes": "Пожелания", "contact": "Имя и контакт", "time": "Время", "book": "Записаться",
           "reschedule": "Перенести", "cancel": "Отменить запись", "prices": "Цены", "yes_cancel": "Да, отменить",
           "keep": "Нет, оставить", "yes": "Да", "no": "Нет, спасибо", "and": "и", "before": "за {h} ч",
           "move_word": "перенос", "cancel_word": "отмена"},
    "en": {"yes_book": "Yes, book it", "other_time": "Another time", "change": "Change something",
           "more": "More times", "no_notes": "No", "skip": "Skip", "address": "Address",
           "notes": "Notes", "contact": "Name and contact", "time": "Time", "book": "Book a visit",
           "reschedule": "Reschedule", "cancel": "Cancel booking", "prices": "Prices", "yes_cancel": "Yes, cancel",
           "keep": "No, keep it", "yes": "Yes", "no": "No, thanks", "and": "and", "before": "{h} h before",
           "move_word": "moving it", "cancel_word": "cancelling"},
}


def reset_booking_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


def booking_answers_from(tracker: Tracker) -> booking.BookingAnswers:
    notes = tracker.get_slot("booking_notes")
    return booking.BookingAnswers(
        service=tracker.get_slot("booking_service"), address=tracker.get_slot("booking_address"),
        slot=tracker.get_slot("booking_slot"), customer_name=tracker.get_slot("customer_name"),
        contact=tracker.get_slot("contact"), notes=None if notes in (None, NONE) else notes)


def labels_for(tracker: Tracker) -> Dict[str, str]:
    return LABELS[language(tracker)]


def _zone_id(address: Optional[str], cfg: BusinessConfig) -> Optional[str]:
    zone = find_zone(address, cfg) if address else None
    return zone.id if zone else None


def _ref(tracker: Tracker) -> Optional[int]:
    value = tracker.get_slot("booking_ref") or latest_entity(tracker, "booking_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _moving(tracker: Tracker) -> Optional[int]:
    """The booking being moved: its own time counts as free for the new one."""
    return _ref(tracker) if tracker.active_loop.get("name") == "reschedule_form" else None


def _typed(tracker: Tracker) -> Optional[str]:
    """The customer's own words of the last message, not a button's payload."""
    text = tracker.latest_message.get("text") or ""
    return None if not text or text.startswith("/") else text


def service_name(service_id: Optional[str], cfg: BusinessConfig, lang: str) -> str:
    service = cfg.service(service_id or "")
    return service.name.get(lang) if service else str(service_id or "")


def when_text(value: datetime, cfg: BusinessConfig, lang: str) -> str:
    return format_when(value, cfg.tz, lang)


class ActionAskBookingService(ActionAskService):
    """The services the bot can put on the calendar (those with `needs` in business.yml)."""

    def name(self) -> str:
        return "action_ask_booking_service"

    @staticmethod
    def offered(cfg: BusinessConfig) -> list:
        return [s for s in cfg.services if s.needs]


class ActionAskBookingSlot(Action):
    """Offer free times as buttons: inside the window the customer named, the nearest ones
    when that is full, more on "other times"; typing a time or a range works too."""

    def name(self) -> str:
        return "action_ask_booking_slot"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        now = clock.now()
        service, zone = tracker.get_slot("booking_service"), _zone_id(tracker.get_slot("booking_address"), cfg)
        more = latest_entity(tracker, "booking_more")
        answered = ProcessFormValidator.previous_value("requested_slot", tracker) == "booking_slot"
        asked_for = _typed(tracker) if answered else tracker.get_slot("booking_when")
        try:
            if more:
                starts = await call_service(dispatcher, booking.offer, cfg, service, zone, now,
                                            after=datetime.fromisoformat(more), ignore_booking=_moving(tracker))
                response, params = "utter_booking_more_slots", {}
            else:
                found = await call_service(dispatcher, booking.offer_for, asked_for, cfg, service, zone, now, lang,
                                           ignore_booking=_moving(tracker), about=tracker.get_slot("booking_when"))
                starts, response, params = found.starts, *self._intro(found, cfg, lang)
            if not starts:
                await call_service(dispatcher, booking.no_free_time, conversation(tracker),
                                   booking_answers_from(tracker), cfg)
        except ServiceUnavailable:
            return []
        if not starts:
            dispatcher.utter_message(response="utter_booking_no_slots", days=cfg.bookings.search_days)
            return []
        choices = [Choice(format_short(s, cfg.tz, lang), intent_payload("inform", time=s.isoformat()))
                   for s in starts]
        more_times = intent_payload("inform", booking_more=starts[-1].isoformat())
        choices.append(Choice(labels_for(tracker)["more"], more_times))
        dispatcher.utter_message(response=response, buttons=buttons(choices),
                                 timezone_label=cfg.business.city.get(lang), **params)
        dispatcher.utter_message(response="utter_booking_slot_hint")
        return []

    @staticmethod
    def _intro(found: booking.Offer, cfg: BusinessConfig, lang: str):
        if found.requested is None:
            return "utter_ask_booking_slot", {}
        requested = when_label(found.requested, cfg, lang)
        if found.matched:
            return "utter_booking_slots_for_request", {"requested": requested}
        if found.unavailable == "past":
            return "utter_booking_requested_past", {"requested": requested}
        if found.unavailable == "too_soon":
            return "utter_booking_requested_too_soon", {"requested": requested,
                                                       "hours": f"{cfg.bookings.min_notice_hours:g}"}
        return "utter_booking_requested_busy", {"requested": requested}


class ActionAskBookingNotes(Action):
    def name(self) -> str:
        return "action_ask_booking_notes"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_booking_notes", buttons=buttons([
            Choice(labels_for(tracker)["no_notes"], intent_payload("deny"))]))
        return []


class ActionAskBookingReason(Action):
    def name(self) -> str:
        return "action_ask_booking_reason"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_booking_reason", buttons=buttons([
            Choice(labels_for(tracker)["skip"], intent_payload("deny"))]))
        return []


class BookingQuestions(ProcessFormValidator):
    """The questions the booking forms share: the time (booking and moving a visit) and
    free-text answers (notes, a reason, a review's comment)."""

    async def validate_booking_slot(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[str, Any]:
        if latest_entity(tracker, "booking_more"):
            return {"booking_slot": None}  # the question shows the next free times
        if self.latest_issue(tracker):
            return self.refuse("booking_slot", dispatcher, tracker)
        cfg, lang = config(), language(tracker)
        text = (_typed(tracker) if self.is_asked("booking_slot", tracker) else None) or str(value or "")
        try:
            start, understood, _ = await call_service(
                dispatcher, booking.slot_for, text, cfg, tracker.get_slot("booking_service"),
                _zone_id(tracker.get_slot("booking_address"), cfg), clock.now(), lang,
                ignore_booking=_moving(tracker), about=tracker.get_slot("booking_when"))
        except ServiceUnavailable:
            return {"booking_slot": None}
        if not understood:
            return self.refuse("booking_slot", dispatcher, tracker)
        if start is None:
            return {"booking_slot": None}  # taken: the question offers the nearest free times
        return self.accept("booking_slot", start.isoformat())

    def free_text(self, slot: str, tracker: Tracker) -> Dict[str, Any]:
        """A free-text answer (notes, a reason, a comment): "no" means none; flagged input
        (gibberish, emoji only) is refused; nothing while another question is asked."""
        if not self.is_asked(slot, tracker) or self.wants_to_leave(tracker):
            return {}
        if tracker.latest_message.get("intent", {}).get("name") == "deny":
            return {slot: NONE}
        text = _typed(tracker)
        if text is None:
            return {}
        return {slot: "?" if self.latest_issue(tracker) else text.strip()[:1000]}

    def check_free_text(self, slot: str, value: Any, dispatcher: CollectingDispatcher,
                        tracker: Tracker) -> Dict[str, Any]:
        if value in (None, "?"):
            return self.refuse(slot, dispatcher, tracker, "utter_invalid_booking_notes")
        return self.accept(slot, value)


class ValidateBookingForm(ContactQuestions, BookingQuestions):
    yes_no_slots = ("booking_notes",)

    def name(self) -> str:
        return "validate_booking_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        time_named = latest_entity(tracker, "time")
        if time_named and not tracker.get_slot("booking_slot") and not self.is_asked("booking_slot", tracker) \
                and not self.latest_issue(tracker):
            # "запишите на четверг после 15": the window the time question offers from.
            events.append(SlotSet("booking_when", _typed(tracker) or time_named))
        return events

    async def extract_booking_service(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[str, Any]:
        """"запишите к мастеру на завтра": the service the catalogue reads in the request when
        the NLU tagged none, so the question is not asked again."""
        if tracker.get_slot("booking_service") or self.latest_issue(tracker):
            return {}
        service = self.service_named_in(_typed(tracker), tracker, offered=lambda s: bool(s.needs))
        return {"booking_service": service.id} if service else {}

    def validate_booking_service(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("booking_service", tracker)
        if kept is not None:
            return kept
        service = match_service(str(value or ""), config()) if not self.latest_issue(tracker) else None
        if service is None or not service.needs:
            return self.refuse("booking_service", dispatcher, tracker, "utter_invalid_service")
        return self.accept("booking_service", service.id)

    def validate_booking_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[str, Any]:
        kept = self.earlier_answer("booking_address", tracker)
        if kept is not None:
            return kept
        cfg, lang = config(), language(tracker)
        place = ((_typed(tracker) if self.is_asked("booking_address", tracker) else None) or str(value or "")).strip()
        if self.latest_issue(tracker) or len(place) < 2 or len(place) > 300 or not any(c.isalpha() for c in place):
            return self.refuse("booking_address", dispatcher, tracker, "utter_invalid_location")
        if not has_house_number(place):
            return self.refuse("booking_address", dispatcher, tracker, "utter_invalid_booking_address")
        if quote.check_address(place, cfg):
            if not self.is_asked("booking_address", tracker):
                return self.refuse("booking_address", dispatcher, tracker)  # keeps the earlier answer
            dispatcher.utter_message(response="utter_quote_out_of_area", place=place, area=area_summary(cfg, lang))
            return {"booking_address": None}
        return self.accept("booking_address", place)

    async def extract_booking_notes(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[str, Any]:
        return self.free_text("booking_notes", tracker)

    def validate_booking_notes(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        return self.check_free_text("booking_notes", value, dispatcher, tracker)


class ActionConfirmBooking(Action):
    """Everything the visit needs, once, before anything is booked."""

    def name(self) -> str:
        return "action_confirm_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        answers = booking_answers_from(tracker)
        service = cfg.service(answers.service or "")
        dispatcher.utter_message(
            response="utter_confirm_booking", service_name=service_name(answers.service, cfg, lang),
            duration=format_duration(service.duration_minutes if service else 0, lang),
            when=when_text(datetime.fromisoformat(answers.slot), cfg, lang), timezone_label=cfg.business.city.get(lang),
            address=answers.address, customer_name=answers.customer_name, contact=answers.contact,
            notes=answers.notes or "—",
            buttons=buttons([Choice(labels["yes_book"], intent_payload("affirm")),
                             Choice(labels["other_time"], intent_payload("inform", booking_change="booking_slot")),
                             Choice(labels["change"], intent_payload("deny"))]))
        return [SlotSet("booking_stage", "confirming")]


# What a "change ..." button asks again: a new address may change the travel time, so the time too.
_CHANGES = {"booking_slot": ("booking_slot", "booking_when"),
            "booking_address": ("booking_address", "booking_slot", "booking_when"),
            "booking_notes": ("booking_notes",), "contact": ("customer_name", "contact")}


class ActionChangeBooking(Action):
    """At the summary: a "change ..." button (or a newly typed time) asks that again; a plain
    no asks what to change."""

    def name(self) -> str:
        return "action_change_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        change = latest_entity(tracker, "booking_change")
        if change in _CHANGES:
            return [SlotSet(slot, None) for slot in _CHANGES[change]] + [SlotSet("booking_stage", None)]
        if latest_entity(tracker, "time"):  # "лучше в пятницу": offer times in that window
            return [SlotSet("booking_slot", None), SlotSet("booking_when", _typed(tracker) or latest_entity(
                tracker, "time")), SlotSet("booking_stage", None)]
        if tracker.latest_message.get("intent", {}).get("name") == "inform":
            return [SlotSet("booking_stage", None)]  # nothing to change was named: the summary again
        labels = labels_for(tracker)
        dispatcher.utter_message(response="utter_booking_what_to_change", buttons=buttons([
            Choice(labels[key], intent_payload("inform", booking_change=slot))
            for key, slot in (("time", "booking_slot"), ("address", "booking_address"), ("notes", "booking_notes"),
                              ("contact", "contact"))]))
        return []


class ActionCreateBooking(Action):
    def name(self) -> str:
        return "action_create_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        answers = booking_answers_from(tracker)
        try:
            view = await call_service(dispatcher, booking.book, conversation(tracker), answers, cfg, clock.now())
        except booking.SlotTaken:
            # Another customer took it between the offer and the yes: fresh times.
            dispatcher.utter_message(response="utter_booking_slot_taken",
                                     requested=when_text(datetime.fromisoformat(answers.slot), cfg, lang))
            return [SlotSet("booking_slot", None), SlotSet("booking_when", None), SlotSet("booking_stage", None),
                    FollowupAction("booking_form")]
        except ServiceUnavailable:
            return []
        hours = sorted(cfg.bookings.reminders_hours, reverse=True)
        reminders = f" {labels['and']} ".join(labels["before"].format(h=f"{h:g}") for h in hours)
        verdict = booking.policy(cfg, view, clock.now(), "cancel")
        dispatcher.utter_message(response="utter_booking_booked", service_name=service_name(view.service, cfg, lang),
                                 when=when_text(view.start, cfg, lang), timezone_label=cfg.business.city.get(lang),
                                 address=view.address, reminders=reminders, ics_url=view.ics_url,
                                 free_until=when_text(verdict.free_until, cfg, lang))
        return [*reset_booking_slots(), SlotSet("failed_answers", 0)]


class _FindBooking(Action, ABC):
    """Find the customer's next visit and say the policy for the change before acting.
    Abstract, so rasa-sdk does not register it as an action of its own."""

    action = ""      # "reschedule" | "cancel"
    stage = ""

    @abstractmethod
    def name(self) -> str:
        """action_start_<change>."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        now = clock.now()
        try:
            view = await call_service(dispatcher, booking.upcoming, tracker.sender_id, now)
        except ServiceUnavailable:
            return []
        if view is None:
            dispatcher.utter_message(response="utter_booking_none_found", buttons=buttons([
                Choice(labels["book"], intent_payload("book"))]))
            return [SlotSet("booking_stage", None)]
        verdict = booking.policy(cfg, view, now, self.action)
        dispatcher.utter_message(
            response=f"utter_booking_policy_{verdict.outcome}", service_name=service_name(view.service, cfg, lang),
            when=when_text(view.start, cfg, lang), free_until=when_text(verdict.free_until, cfg, lang),
            hours=f"{cfg.bookings.policy.free_until_hours:g}",
            fee=format_money(verdict.fee, cfg.business.currency, lang) if verdict.fee is not None else "",
            change=labels["move_word" if self.action == "reschedule" else "cancel_word"])
        return [SlotSet("booking_ref", str(view.id)), SlotSet("booking_stage", self.stage),
                SlotSet("booking_service", view.service), SlotSet("booking_address", view.address),
                SlotSet("booking_slot", None), SlotSet("booking_reason", None),
                SlotSet("booking_when", _typed(tracker) if latest_entity(tracker, "time") else None)]


class ActionStartReschedule(_FindBooking):
    action, stage = "reschedule", "rescheduling"

    def name(self) -> str:
        return "action_start_reschedule"


class ActionStartCancel(_FindBooking):
    action, stage = "cancel", "cancelling"

    def name(self) -> str:
        return "action_start_cancel"


class ValidateRescheduleForm(BookingQuestions):
    yes_no_slots = ("booking_reason",)

    def name(self) -> str:
        return "validate_reschedule_form"

    async def extract_booking_reason(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[str, Any]:
        return self.free_text("booking_reason", tracker)

    def validate_booking_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[str, Any]:
        return self.check_free_text("booking_reason", value, dispatcher, tracker)


class ValidateCancelForm(ValidateRescheduleForm):
    def name(self) -> str:
        return "validate_cancel_form"


def _reason(tracker: Tracker) -> Optional[str]:
    reason = tracker.get_slot("booking_reason")
    return None if reason in (None, NONE) else reason


class ActionRescheduleBooking(Action):
    def name(self) -> str:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        new_start = datetime.fromisoformat(tracker.get_slot("booking_slot"))
        try:
            view = await call_service(dispatcher, booking.reschedule, conversation(tracker), _ref(tracker),
                                      new_start, cfg, clock.now(), _reason(tracker))
        except booking.PolicyRefused:
            dispatcher.utter_message(response="utter_booking_sent_to_manager",
                                     manager_name=cfg.manager.name.get(lang))
            return reset_booking_slots()
        except booking.SlotTaken:
            dispatcher.utter_message(response="utter_booking_slot_taken", requested=when_text(new_start, cfg, lang))
            return [SlotSet("booking_slot", None), FollowupAction("reschedule_form")]
        except ValueError:  # moved or cancelled meanwhile (another chat, the manager)
            dispatcher.utter_message(response="utter_booking_none_found")
            return reset_booking_slots()
        except ServiceUnavailable:
            return []
        dispatcher.utter_message(response="utter_booking_rescheduled",
                                 service_name=service_name(view.service, cfg, lang),
                                 when=when_text(view.start, cfg, lang), timezone_label=cfg.business.city.get(lang),
                                 ics_url=view.ics_url)
        return reset_booking_slots()


class ActionConfirmCancel(Action):
    def name(self) -> str:
        return "action_confirm_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        now = clock.now()
        try:
            view = await call_service(dispatcher, booking.find, _ref(tracker))
        except ServiceUnavailable:
            return []
        if view is None:
            dispatcher.utter_message(response="utter_booking_none_found")
            return reset_booking_slots()
        verdict = booking.policy(cfg, view, now, "cancel")
        choices = buttons([Choice(labels["yes_cancel"], intent_payload("affirm")),
                           Choice(labels["keep"], intent_payload("deny"))])
        if verdict.fee is not None:
            dispatcher.utter_message(response="utter_confirm_cancel_fee", when=when_text(view.start, cfg, lang),
                                     fee=format_money(verdict.fee, cfg.business.currency, lang), buttons=choices)
        else:
            dispatcher.utter_message(response="utter_confirm_cancel", when=when_text(view.start, cfg, lang),
                                     buttons=choices)
        return [SlotSet("booking_stage", "cancel_confirming")]


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        try:
            view = await call_service(dispatcher, booking.cancel, conversation(tracker), _ref(tracker), cfg,
                                      clock.now(), _reason(tracker))
        except ValueError:
            dispatcher.utter_message(response="utter_booking_none_found")
            return reset_booking_slots()
        except ServiceUnavailable:
            return []
        when = when_text(view.start, cfg, lang)
        if view.status == booking.CANCEL_REQUESTED:
            dispatcher.utter_message(response="utter_booking_sent_to_manager", manager_name=cfg.manager.name.get(lang))
        elif view.fee is not None:
            dispatcher.utter_message(response="utter_booking_cancelled_fee", when=when,
                                     fee=format_money(view.fee, cfg.business.currency, lang))
        else:
            dispatcher.utter_message(response="utter_booking_cancelled", when=when)
        return reset_booking_slots()


class ActionKeepBooking(Action):
    def name(self) -> str:
        return "action_keep_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_booking_kept")
        return reset_booking_slots()


class ActionBookingReminder(Action):
    """The scheduler's reminder; silent for a visit that was cancelled or moved since."""

    def name(self) -> str:
        return "action_booking_reminder"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        booking_id, hours = latest_entity(tracker, "booking_id"), latest_entity(tracker, "hours")
        if booking_id is None or hours is None:
            return []
        try:
            view = await call_service(dispatcher, booking.reminder_due, int(booking_id), str(hours))
        except ServiceUnavailable:
            return []
        if view is None:
            return []
        dispatcher.utter_message(
            response="utter_booking_reminder", service_name=service_name(view.service, cfg, lang),
            when=when_text(view.start, cfg, lang), timezone_label=cfg.business.city.get(lang), address=view.address,
            buttons=buttons([Choice(labels["reschedule"], intent_payload("reschedule")),
                             Choice(labels["cancel"], intent_payload("cancel_booking"))]))
        return []


class ActionStartReview(Action):
    """After the visit (the scheduler's job): open the review questions, once the visit ended."""

    def name(self) -> str:
        return "action_start_review"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        booking_id = latest_entity(tracker, "booking_id")
        if booking_id is None:
            return [SlotSet("booking_stage", None)]
        try:
            view = await call_service(dispatcher, booking.review_due, int(booking_id))
        except ServiceUnavailable:
            return [SlotSet("booking_stage", None)]
        if view is None:  # cancelled, or not over yet: nothing to ask
            return [SlotSet("booking_stage", None)]
        return [SlotSet("booking_ref", str(view.id)), SlotSet("booking_stage", "reviewing"),
                SlotSet("booking_service", view.service), SlotSet("review_rating", None),
                SlotSet("review_text", None)]


class ActionAskReviewRating(Action):
    def name(self) -> str:
        return "action_ask_review_rating"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        try:
            view = await call_service(dispatcher, booking.find, _ref(tracker))
        except ServiceUnavailable:
            return []
        choices = [Choice("⭐" * n, intent_payload("inform", review_rating=str(n))) for n in range(5, 0, -1)]
        dispatcher.utter_message(response="utter_ask_review_rating",
                                 service_name=service_name(view.service if view else None, cfg, lang),
                                 when=when_text(view.start, cfg, lang).rsplit(",", 1)[0] if view else "",
                                 buttons=buttons(choices))
        return []


class ActionAskReviewText(Action):
    def name(self) -> str:
        return "action_ask_review_text"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_review_text", buttons=buttons([
            Choice(labels_for(tracker)["skip"], intent_payload("deny"))]))
        return []


class ValidateReviewForm(BookingQuestions):
    yes_no_slots = ("review_text",)

    def name(self) -> str:
        return "validate_review_form"

    async def extract_review_rating(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[str, Any]:
        if not self.is_asked("review_rating", tracker):
            return {}
        rating = latest_entity(tracker, "review_rating") or booking.read_rating(_typed(tracker) or "")
        return {"review_rating": str(rating) if rating else "?"}

    def validate_review_rating(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        if str(value) not in ("1", "2", "3", "4", "5"):
            return self.refuse("review_rating", dispatcher, tracker)
        return self.accept("review_rating", str(value))

    async def extract_review_text(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[str, Any]:
        return self.free_text("review_text", tracker)

    def validate_review_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[str, Any]:
        return self.check_free_text("review_text", value, dispatcher, tracker)


class ActionSaveReview(Action):
    """Keep the review; a happy customer is offered the next visit, an unhappy one a call."""

    def name(self) -> str:
        return "action_save_review"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang, labels = config(), language(tracker), labels_for(tracker)
        rating, text = int(tracker.get_slot("review_rating")), tracker.get_slot("review_text")
        service = cfg.service(tracker.get_slot("booking_service") or "")
        happy = rating > 3 and service is not None and bool(service.needs)
        try:
            await call_service(dispatcher, booking.record_review, conversation(tracker), _ref(tracker), rating,
                               None if text in (None, NONE) else text,
                               "repeat_booking_offered" if happy else "manager_follow_up")
        except ServiceUnavailable:
            return []
        except ValueError:
            return reset_booking_slots()
        if not happy:
            dispatcher.utter_message(response="utter_review_thanks_bad", manager_name=cfg.manager.name.get(lang))
            return reset_booking_slots()
        next_day = clock.now(cfg.tz) + timedelta(days=cfg.bookings.maintenance_every_days)
        window = f"{next_day.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()}/" \
                 f"{(next_day + timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()}"
        dispatcher.utter_message(response="utter_review_thanks_good",
                                 next_date=when_text(next_day, cfg, lang).rsplit(",", 1)[0],
                                 buttons=buttons([Choice(labels["yes"], intent_payload("affirm")),
                                                  Choice(labels["no"], intent_payload("deny"))]))
        return [*reset_booking_slots(), SlotSet("booking_stage", "repeat_offered"),
                SlotSet("booking_service", service.id), SlotSet("booking_when", window)]


class ActionDeclineRepeat(Action):
    def name(self) -> str:
        return "action_decline_repeat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_review_next_declined")
        return reset_booking_slots()


def booking_after_quote(accepted: dict, cfg: BusinessConfig) -> List[EventType]:
    """An accepted quote whose next step is a visit goes straight to the booking questions,
    with what the quote already knows (service, address, the day asked for)."""
    service = cfg.service(accepted.get("service") or "")
    if accepted.get("next_step") != "visit" or service is None or not service.needs:
        return []
    # The quote's place is often a district ("Марьино"): kept only when it names the house.
    address = accepted.get("location") if has_house_number(accepted.get("location")) else None
    events: List[EventType] = [SlotSet("booking_service", service.id), SlotSet("booking_address", address)]
    work = accepted.get("work_date")
    if work:
        day = work.astimezone(cfg.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        events.append(SlotSet("booking_when", f"{day.isoformat()}/{(day + timedelta(days=1)).isoformat()}"))
    return [*events, FollowupAction("booking_form")]

