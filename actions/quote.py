"""Rasa glue for the quote process (msgops/quote.py holds the process itself)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking import booking_after_quote
from actions.common import ServiceUnavailable, call_service, config, conversation, language, latest_entity
from actions.forms_base import ProcessFormValidator
from actions.lead import ActionAskService
from msgops import clock, quote
from msgops.business.answers import read_when
from msgops.business.area import area_summary, find_zone
from msgops.business.catalogue import match_service
from msgops.business.opening import next_open_text
from msgops.business.pricing import PricingError, Span, format_span
from msgops.business.when_text import format_when
from msgops.choices import Choice, buttons, intent_payload

QUOTE_SLOTS = ("quote_service", "quote_quantity", "quote_extras", "quote_address", "quote_date", "quote_photo")


def quote_answers_from(tracker: Tracker) -> quote.QuoteAnswers:
    return quote.QuoteAnswers(
        service=tracker.get_slot("quote_service"), quantity=tracker.get_slot("quote_quantity"),
        extras=tracker.get_slot("quote_extras"), address=tracker.get_slot("quote_address"),
        date=tracker.get_slot("quote_date"), photo=tracker.get_slot("quote_photo"),
        customer_name=tracker.get_slot("customer_name"), contact=tracker.get_slot("contact"))


def reset_quote_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in QUOTE_SLOTS]


def _interruptions(domain: DomainDict) -> List[str]:
    """The intents that are not answers: the domain's own list (x-interruptions)."""
    for mapping in domain.get("slots", {}).get("quote_address", {}).get("mappings", []):
        if mapping.get("not_intent"):
            return list(mapping["not_intent"])
    return []


def _said_no(tracker: Tracker) -> bool:
    """A plain "нет" / "no" to an optional question (extras, photo) means "nothing"."""
    return tracker.latest_message.get("intent", {}).get("name") == "deny"


def _unit(tracker: Tracker) -> Optional[str]:
    service = match_service(str(tracker.get_slot("quote_service") or ""), config())
    return service.unit if service else None


class ActionAskQuoteService(ActionAskService):
    """The same catalogue buttons as the lead's question."""

    def name(self) -> str:
        return "action_ask_quote_service"


class ActionAskQuoteQuantity(Action):
    """"How many m² / windows / items / hours?" by the chosen service's unit."""

    def name(self) -> str:
        return "action_ask_quote_quantity"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response=f"utter_ask_quote_quantity_{_unit(tracker) or 'm2'}")
        return []


class ActionAskQuoteExtras(Action):
    """The service's add-ons as buttons, plus "nothing"; typing several at once works too."""

    def name(self) -> str:
        return "action_ask_quote_extras"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        service = match_service(str(tracker.get_slot("quote_service") or ""), cfg)
        offered = cfg.pricing.services[service.id].extras if service else []
        choices = [Choice(cfg.pricing.extras[e].name.get(lang), intent_payload("inform", quote_option=e))
                   for e in offered if not cfg.pricing.extras[e].free_up_to][:4]
        choices.append(Choice("Ничего не нужно" if lang == "ru" else "Nothing",
                              intent_payload("inform", quote_option=quote.NO_EXTRAS)))
        dispatcher.utter_message(response="utter_ask_quote_extras", buttons=buttons(choices))
        return []


class ActionAskQuotePhoto(Action):
    def name(self) -> str:
        return "action_ask_quote_photo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        lang = language(tracker)
        choice = Choice("Без фото" if lang == "ru" else "No photo",
                        intent_payload("inform", quote_option=quote.NO_EXTRAS))
        dispatcher.utter_message(response="utter_ask_quote_photo", buttons=buttons([choice]))
        return []


class ValidateQuoteForm(ProcessFormValidator):
    """Asks only what the chosen service needs (business.yml), and says which answers clash."""

    yes_no_slots = ("quote_extras", "quote_photo")

    def name(self) -> str:
        return "validate_quote_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        asked, before = tracker.get_slot("requested_slot"), len(dispatcher.messages)
        events = await super().run(dispatcher, tracker, domain)
        said = len(dispatcher.messages) > before
        if (asked == "quote_service" and not said and self._took_another_answer(events, tracker)
                and self.runs_after_the_customer(tracker)):
            # "Подольск" typed while the service is asked: kept as the address, and said so,
            # so that the service question that follows does not read as "that was wrong"
            # (unless the answer drew its own reply, a clash with an earlier one, say).
            dispatcher.utter_message(response="utter_shared_noted")
        return events

    def _took_another_answer(self, events: List[EventType], tracker: Tracker) -> bool:
        """Whether the form took a new answer to a later question but still has no service
        (an answer refused quietly keeps the earlier one: nothing new was taken then)."""
        values = {e.get("name"): e.get("value") for e in events if e.get("event") == "slot"}
        return not values.get("quote_service") and any(
            values.get(slot) not in (None, "?", self.previous_value(slot, tracker))
            for slot in QUOTE_SLOTS if slot != "quote_service")

    @staticmethod
    def _answers_another_question(tracker: Tracker) -> bool:
        """Whether the last message filled a quote question other than the service (a place, a
        date, "60 м2"): then it was an answer given early, not a wrong name of a service."""
        pending = tracker.slots_to_validate()
        return any(pending.get(slot) not in (None, "?") for slot in QUOTE_SLOTS if slot != "quote_service")

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[str]:
        return self._asked_now(tracker)

    @staticmethod
    def _asked_now(tracker: Tracker) -> List[str]:
        """The slots this message may fill and that get validated (msgops.quote.answerable)."""
        service = match_service(str(tracker.get_slot("quote_service") or ""), config())
        return quote.answerable(config(), service.id if service else None)

    def _answer_text(self, tracker: Tracker, domain: DomainDict) -> Optional[str]:
        """The customer's words, unless they were something else than an answer."""
        intent = tracker.latest_message.get("intent", {}).get("name")
        if self.latest_issue(tracker) or intent in _interruptions(domain):
            return None
        text = tracker.latest_message.get("text") or ""
        return None if text.startswith("/") else text

    # --- extraction of the slots no entity carries ---

    async def extract_quote_service(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[str, Any]:
        """The domain's from_text mapping only reads an answer to the service question: without
        this the first message's service (and with it the quantity, read by the service's
        unit) is lost."""
        if tracker.get_slot("quote_service"):
            return {}
        service = self.service_named_in(self._answer_text(tracker, domain), tracker)
        return {"quote_service": service.id} if service else {}

    async def extract_quote_quantity(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("quote_quantity"):
            return {}
        text = self._answer_text(tracker, domain)
        asked = tracker.get_slot("requested_slot") == "quote_quantity"
        value = quote.read_quantity(text or "", _unit(tracker), unit_required=not asked)
        if value is None:
            return {"quote_quantity": "?"} if asked and text else {}
        return {"quote_quantity": str(value)}

    async def extract_quote_extras(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[str, Any]:
        asked = tracker.get_slot("requested_slot") == "quote_extras"
        option = latest_entity(tracker, "quote_option")
        if option and asked:
            return {"quote_extras": option if option == quote.NO_EXTRAS else f"{option}=1"}
        if asked and _said_no(tracker):
            return {"quote_extras": quote.NO_EXTRAS}
        service = match_service(str(tracker.get_slot("quote_service") or ""), config())
        text = self._answer_text(tracker, domain)
        if tracker.get_slot("quote_extras") or service is None:
            return {}
        if not text:
            # "балкон и кошка" read as off-topic: still the answer when it names the extras
            raw = tracker.latest_message.get("text") or ""
            plain = asked and not raw.startswith("/") and not self.latest_issue(tracker) and not self.wants_to_leave(
                tracker) and tracker.latest_message.get("intent", {}).get("name") not in ("request_human", "stop")
            found = quote.read_extras(raw, config(), service.id)[0] if plain else None
            return {"quote_extras": quote.format_extras(found)} if found else {}
        found, missing = quote.read_extras(text, config(), service.id)
        if missing and asked:
            return {"quote_extras": f"?{missing}"}
        if found is None or (not asked and not found):
            return {"quote_extras": "?"} if asked else {}
        return {"quote_extras": quote.format_extras(found)}

    async def extract_quote_photo(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") != "quote_photo":
            return {}
        media = latest_entity(tracker, "media_url") or latest_entity(tracker, "media_id")
        if media:
            return {"quote_photo": media}
        if latest_entity(tracker, "quote_option") == quote.NO_EXTRAS or _said_no(tracker):
            return {"quote_photo": quote.NO_EXTRAS}
        text = self._answer_text(tracker, domain)
        if not text:
            return {}
        return {"quote_photo": quote.read_photo(text) or "?"}

    # --- validation ---

    def validate_quote_service(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        cfg = config()
        named = {e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == "service"}
        if len(named) > 1:  # "генеральную уборку" read as two services: the catalogue's longest name wins
            value = getattr(match_service(tracker.latest_message.get("text") or "", cfg), "id", value)
        service = None
        if not self.latest_issue(tracker):
            # An entity the catalogue does not know ("мойку" of "мойку 4 окон"): the whole message may.
            service = (match_service(str(value or ""), cfg)
                       or match_service(self._answer_text(tracker, domain) or "", cfg))
        if service is None and self._answers_another_question(tracker):
            return {"quote_service": None}  # a place or a date given early: kept, and the service asked again
        if service is None:
            return self.refuse("quote_service", dispatcher, tracker, "utter_invalid_service")
        result = self.accept("quote_service", service.id)
        amount = tracker.get_slot("quote_quantity")
        if amount and amount != "?" and quote.check_quantity(Decimal(amount), cfg, service.id):
            result["quote_quantity"] = None  # read before the service was known; ask again
        return result

    def validate_quote_quantity(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[str, Any]:
        cfg, lang = config(), language(tracker)
        service = match_service(str(tracker.get_slot("quote_service") or ""), cfg)
        if value in (None, "?"):
            return self.refuse("quote_quantity", dispatcher, tracker)
        if service is None:
            return {"quote_quantity": value}
        problem = quote.check_quantity(Decimal(str(value)), cfg, service.id)
        if problem is None:
            return self.accept("quote_quantity", str(value))
        if problem.code == "quantity_out_of_range":
            low, high = problem.details["min"], problem.details["max"]
            return self.refuse("quote_quantity", dispatcher, tracker, "utter_quote_quantity_out_of_range",
                               min=f"{low.normalize():f}", max=f"{high.normalize():f}",
                               unit=quote.quantity_text(high, service.unit, lang).split(" ", 1)[1])
        return self.refuse("quote_quantity", dispatcher, tracker)

    def refuse(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker,
               response: Optional[str] = None, **params: Any) -> Dict[str, Any]:
        if params and self.is_asked(slot, tracker):
            dispatcher.utter_message(response=response, **params)
            result = super().refuse(slot, _Silent(), tracker, response)
            if result["failed_answers"] == 0:
                dispatcher.utter_message(response="utter_offer_help_after_failures")
            return result
        return super().refuse(slot, dispatcher, tracker, response)

    def validate_quote_extras(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[str, Any]:
        text = str(value or "")
        if text.startswith("?") and len(text) > 1:  # an extra that needs a number: the floor
            return self.refuse("quote_extras", dispatcher, tracker, "utter_quote_ask_floor")
        if not text or text == "?":
            return self.refuse("quote_extras", dispatcher, tracker)
        return self.accept("quote_extras", text)

    def validate_quote_address(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        cfg, lang = config(), language(tracker)
        place = str(value or "").strip()
        if self.latest_issue(tracker) or len(place) < 2 or not any(c.isalpha() for c in place):
            return self.refuse("quote_address", dispatcher, tracker, "utter_invalid_location")
        problem = quote.check_address(place, cfg)
        if problem:
            return self.refuse("quote_address", dispatcher, tracker, "utter_quote_out_of_area",
                               place=place, area=area_summary(cfg, lang))
        result = self.accept("quote_address", place)
        if "quote_date" in tracker.slots_to_validate() and "quote_date" in self._asked_now(tracker):
            return result  # a date came with it: validate_quote_date checks the pair, and says it once
        date = tracker.get_slot("quote_date")
        when = read_when(date, clock.now(cfg.tz), lang) if date else None
        clash = quote.check_date(when, place, cfg, clock.now(cfg.tz)) if when else None
        if clash and clash.code == "urgent_far":
            self._say(dispatcher, clash, cfg, lang)
            result["quote_date"] = None  # the customer picks a later date (or says another address)
        return result

    def validate_quote_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[str, Any]:
        cfg, lang = config(), language(tracker)
        now = clock.now(cfg.tz)
        when = read_when(str(value or ""), now, lang) if not self.latest_issue(tracker) else None
        if when is None:
            return self.refuse("quote_date", dispatcher, tracker)
        address = tracker.get_slot("quote_address")
        place = address if address and find_zone(address, cfg) else None
        problem = quote.check_date(when, place, cfg, now)
        if problem:
            return self._refuse_date(problem, dispatcher, tracker, cfg, lang)
        return self.accept("quote_date", when.iso)

    def _refuse_date(self, problem: quote.Problem, dispatcher: CollectingDispatcher, tracker: Tracker,
                     cfg, lang: str) -> Dict[str, Any]:
        if problem.code == "date_in_past":
            return self.refuse("quote_date", dispatcher, tracker, "utter_quote_date_in_past")
        self._say(dispatcher, problem, cfg, lang)
        return {"quote_date": None}

    @staticmethod
    def _say(dispatcher: CollectingDispatcher, problem: quote.Problem, cfg, lang: str) -> None:
        if problem.code == "closed_day":
            day = problem.details["date"]
            label = format_when(problem.details["next"], cfg.tz, lang).rsplit(",", 1)[0]
            dispatcher.utter_message(response="utter_quote_closed_day", date=f"{day:%d.%m}", next=label)
        else:
            zones = ", ".join(z.name.get(lang) for z in cfg.service_area.zones
                              if z.id in (cfg.quotes.urgent_zones or []))
            dispatcher.utter_message(response="utter_quote_urgent_far", place=problem.details["place"],
                                     zones=zones, hours=f"{problem.details['hours']:g}")

    def validate_quote_photo(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[str, Any]:
        if value in (None, "?"):
            return self.refuse("quote_photo", dispatcher, tracker)
        return self.accept("quote_photo", value)


class _Silent(CollectingDispatcher):
    """Swallows the base class's own reply when a reply with parameters was already sent."""

    def utter_message(self, *args: Any, **kwargs: Any) -> None:
        return None


def next_step_buttons(lang: str) -> List[Dict[str, str]]:
    labels = {"ru": ("Записаться на выезд", "Позвоните мне", "Внести предоплату", "Не подходит"),
              "en": ("Book a visit", "Call me", "Pay a deposit", "No, thanks")}[lang]
    choices = [Choice(label, intent_payload("affirm", quote_next=step))
               for label, step in zip(labels[:3], quote.NEXT_STEPS, strict=True)]
    choices.append(Choice(labels[3], intent_payload("deny")))
    return buttons(choices)


class ActionGiveQuote(Action):
    """Price what the form collected, show the itemised offer, record it, ask for the next step."""

    def name(self) -> str:
        return "action_give_quote"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        now = clock.now(cfg.tz)
        answers = quote_answers_from(tracker)
        try:
            quote_id, priced, valid_until = await call_service(dispatcher, quote.send, conversation(tracker),
                                                                answers, cfg, now)
        except PricingError:
            dispatcher.utter_message(response="utter_quote_cannot_price", buttons=buttons([
                Choice("Да" if lang == "ru" else "Yes", intent_payload("request_human"))]))
            return reset_quote_slots()
        except ServiceUnavailable:
            return []
        parts = quote.render(priced, cfg, lang, valid_until, quote.promised_start(answers, cfg, now))
        dispatcher.utter_message(response="utter_quote_offer", **parts)
        if priced.is_range or priced.conditions:
            dispatcher.utter_message(response="utter_quote_conditions", conditions=parts["conditions"])
        dispatcher.utter_message(response="utter_quote_next_step", deposit=parts["deposit"],
                                 buttons=next_step_buttons(lang))
        return [*reset_quote_slots(), SlotSet("quote_status", "offered"), SlotSet("failed_answers", 0)]


class ActionAcceptQuote(Action):
    def name(self) -> str:
        return "action_accept_quote"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        step = latest_entity(tracker, "quote_next") or "visit"
        try:
            result = await call_service(dispatcher, quote.decide, conversation(tracker), cfg, clock.now(),
                                        accepted=True, next_step=step)
        except ServiceUnavailable:
            return []
        if result is None:
            dispatcher.utter_message(response="utter_quote_none_open")
            return [SlotSet("quote_status", None)]
        booking = booking_after_quote(result, cfg)
        if booking:
            dispatcher.utter_message(response="utter_quote_accepted_book")
        else:
            dispatcher.utter_message(response=f"utter_quote_accepted_{result['next_step']}",
                                     manager_name=cfg.manager.name.get(lang),
                                     next_open=next_open_text(cfg, clock.now(), lang),
                                     deposit=f"{cfg.quotes.deposit_percent:g}")
        return [SlotSet("quote_status", None), *booking]


class ActionDeclineQuote(Action):
    def name(self) -> str:
        return "action_decline_quote"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        try:
            result = await call_service(dispatcher, quote.decide, conversation(tracker), config(), clock.now(),
                                        accepted=False)
        except ServiceUnavailable:
            return []
        dispatcher.utter_message(response="utter_quote_declined" if result else "utter_quote_none_open")
        return [SlotSet("quote_status", None)]


class ActionQuoteFollowup(Action):
    """The scheduler's one reminder about a quote nobody said yes or no to; silent otherwise."""

    def name(self) -> str:
        return "action_quote_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        cfg, lang = config(), language(tracker)
        try:
            row = await call_service(dispatcher, quote.open_summary, tracker.sender_id, clock.now())
        except ServiceUnavailable:
            return []
        if row is None:
            return []
        service = cfg.service(row["service"])
        total = format_span(Span(Decimal(row["total_min"]), Decimal(row["total_max"])), row["currency"], lang)
        dispatcher.utter_message(response="utter_quote_followup",
                                 service_name=service.name.get(lang) if service else row["service"],
                                 total=total,
                                 valid_until=format_when(row["valid_until"], cfg.tz, lang).rsplit(",", 1)[0],
                                 buttons=next_step_buttons(lang))
        return [SlotSet("quote_status", "offered")]
