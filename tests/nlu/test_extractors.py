"""StructuredEntityExtractor through its Rasa API (create + process), "now" pinned by
MSGOPS_NOW to Thursday 2026-12-03 22:40 Moscow time (see conftest)."""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import pytest

from tests.nlu.conftest import entities_of, message


@pytest.fixture(scope="module")
def extractor(make: Callable[..., Any]) -> Any:
    from msgops.nlu.extractors import StructuredEntityExtractor

    return make(
        StructuredEntityExtractor,
        {"timezone": "Europe/Moscow", "phone_region": "RU", "default_currency": "RUB"},
    )


def run(extractor: Any, text: str, **data: Any) -> List[Tuple[str, str, str]]:
    (msg,) = extractor.process([message(text, **data)])
    return [(e["entity"], text[e["start"] : e["end"]], e["value"]) for e in entities_of(msg)]


PHONES = [
    ("+7 916 123-45-67", "+7 916 123-45-67"),
    ("8 (916) 123 45 67", "8 (916) 123 45 67"),
    ("89161234567", "89161234567"),
    ("мой номер 8-916-123-45-67, звоните", "8-916-123-45-67"),
    ("call me on +7 (495) 123-45-67", "+7 (495) 123-45-67"),
]


def test_foreign_number_with_country_code(extractor: Any) -> None:
    assert [e for e in run(extractor, "Hannah - +44 7700 900123") if e[0] == "phone"] == [
        ("phone", "+44 7700 900123", "+447700900123")
    ]


@pytest.mark.parametrize("text", ["5000", "12345", "60 м2", "15.03.2026", "10:00-12:00",
                                  "123-45-67", "заказ 1234567"])
def test_not_a_phone(extractor: Any, text: str) -> None:
    assert [e for e in run(extractor, text) if e[0] == "phone"] == []


@pytest.mark.parametrize("text,surface", PHONES)
def test_phone(extractor: Any, text: str, surface: str) -> None:
    got = [e for e in run(extractor, text) if e[0] == "phone"]
    assert got == [("phone", surface, "+79161234567" if "916" in text else "+74951234567")]
    # no digit of a phone number is a price or a time
    assert [e for e in run(extractor, text) if e[0] in ("budget", "time")] == []


def test_phone_with_time_and_money_around_it(extractor: Any) -> None:
    text = "звоните 89161234567 завтра после 15, бюджет 5000 руб"
    assert run(extractor, text) == [
        ("phone", "89161234567", "+79161234567"),
        ("time", "завтра после 15", "2026-12-04T15:00:00+03:00/2026-12-05T00:00:00+03:00"),
        ("budget", "5000 руб", "5000 RUB"),
    ]


EMAILS = [
    ("ivan@example.com", "ivan@example.com", "ivan@example.com"),
    ("пишите на Ivan.Petrov@Mail.RU пожалуйста", "Ivan.Petrov@Mail.RU", "ivan.petrov@mail.ru"),
    ("my email: anna+cleaning@gmail.com.", "anna+cleaning@gmail.com", "anna+cleaning@gmail.com"),
]


@pytest.mark.parametrize("text,surface,value", EMAILS)
def test_email(extractor: Any, text: str, surface: str, value: str) -> None:
    assert [e for e in run(extractor, text) if e[0] == "email"] == [("email", surface, value)]


BUDGETS = [
    ("5000 руб", "5000 руб", "5000 RUB"),
    ("5 тыс", "5 тыс", "5000 RUB"),
    ("до 10к", "10к", "10000 RUB"),
    ("бюджет 7000", "7000", "7000 RUB"),
    ("$200", "$200", "200 USD"),
    ("200 dollars", "200 dollars", "200 USD"),
    ("€150", "€150", "150 EUR"),
    ("бюджет до 15 000 рублей", "15 000 рублей", "15000 RUB"),
    ("10 000 ₽", "10 000 ₽", "10000 RUB"),
    ("1,5 тыс", "1,5 тыс", "1500 RUB"),
    ("около 3 тыс. р.", "3 тыс. р.", "3000 RUB"),
    ("5 т.р.", "5 т.р.", "5000 RUB"),
    ("budget is 300 usd", "300 usd", "300 USD"),
    ("our budget is around 2k", "2k", "2000 RUB"),
    ("about 8000 rubles", "8000 rubles", "8000 RUB"),
]


@pytest.mark.parametrize("text,surface,value", BUDGETS)
def test_budget(extractor: Any, text: str, surface: str, value: str) -> None:
    assert [e for e in run(extractor, text) if e[0] == "budget"] == [("budget", surface, value)]


@pytest.mark.parametrize(
    "text",
    ["5000", "уборка 60 м2 за 5000", "3 комнаты", "2 к вам приедут", "в 2026 году", "до 12",
     "How much would I pay for 3 hours?", "бюджет на 60 м2"],
)
def test_not_money(extractor: Any, text: str) -> None:
    assert [e for e in run(extractor, text) if e[0] == "budget"] == []


def test_default_currency_comes_from_config(make: Callable[..., Any]) -> None:
    from msgops.nlu.extractors import StructuredEntityExtractor

    eur = make(StructuredEntityExtractor, {"default_currency": "EUR", "warm_up": False})
    assert [e[2] for e in run(eur, "бюджет 7000")] == ["7000 EUR"]


PEOPLE = [
    ("Меня зовут Иван Петров", [("Иван Петров", "Иван Петров")]),
    ("меня зовут ян", [("ян", "Ян")]),
    ("ян", [("ян", "Ян")]),
    ("Ян", [("Ян", "Ян")]),
    ("я Ли", [("Ли", "Ли")]),
    ("Петров Иван", [("Петров Иван", "Иван Петров")]),
    ("позвоните Марии Ивановой завтра в 10", [("Марии Ивановой", "Марии Ивановой")]),
    ("Надежда", [("Надежда", "Надежда")]),
    ("Зовут Павел Смирнов, район Замоскворечье", [("Павел Смирнов", "Павел Смирнов")]),
    ("Елена Викторовна, 89161234567", [("Елена Викторовна", "Елена")]),
    ("есть надежда на скидку?", []),  # a word, not a name
    ("запишите на 5 мая", []),  # "мая" is the month
    ("I am John", [("John", "John")]),
    ("Hi, I’m Rachel, what do you charge in Kotelniki?", [("Rachel", "Rachel")]),
    ("Lucy here, the windows need washing by Friday", [("Lucy", "Lucy")]),
    ("email m.chen@example.org, name's Michael Chen", [("Michael Chen", "Michael Chen")]),
    ("my name is rachel", [("rachel", "Rachel")]),
    ("call me dave pls", [("dave", "Dave")]),
    ("this is Anna Petrova speaking", [("Anna Petrova", "Anna Petrova")]),
    ("hey, it's Tom from flat 5", [("Tom", "Tom")]),
    # a cue followed by no name: a weekday, a place, a state, lower case after a short cue
    ("it's Friday, can you come?", []),
    ("I am in Khimki", []),
    ("I'm looking for a cleaner", []),
    ("this is urgent", []),
    ("im sorry, wrong chat", []),
    ("i'm Ok with that", []),
    ("January 3rd in Podolsk", []),
    ("it's Monday 5pm", []),
    ("сколько стоит уборка", []),
    ("при входе в приложение меня из него выкидывает", []),  # "из" has a rare Name reading
]


@pytest.mark.parametrize("text,expected", PEOPLE)
def test_person(extractor: Any, text: str, expected: List[Tuple[str, str]]) -> None:
    got = [(s, v) for t, s, v in run(extractor, text) if t == "person"]
    assert got == expected


def test_person_already_found_by_diet_is_not_added_twice(extractor: Any) -> None:
    diet = {
        "entity": "person", "start": 11, "end": 15, "value": "Иван",
        "extractor": "DIETClassifier", "confidence_entity": 0.98,
    }
    (msg,) = extractor.process([message("Меня зовут Иван", entities=[diet])])
    people = entities_of(msg, "person")
    assert people == [diet]


def test_entity_shape(extractor: Any) -> None:
    (msg,) = extractor.process([message("завтра в 15:00, тел. 89161234567")])
    for e in entities_of(msg):
        assert set(e) >= {"entity", "start", "end", "value", "extractor", "confidence_entity"}
        assert e["extractor"] == "StructuredEntityExtractor"
        assert e["confidence_entity"] == 1.0
    (t,) = entities_of(msg, "time")
    assert t["value"] == "2026-12-04T15:00:00+03:00"
    assert t["additional_info"]["grain"] == "instant"
    assert "entities" in msg.as_dict(only_output_properties=True)


def test_interval_and_daily_window(extractor: Any) -> None:
    (msg,) = extractor.process([message("any morning next week")])
    (t,) = entities_of(msg, "time")
    assert t["value"] == "2026-12-07T09:00:00+03:00/2026-12-13T12:00:00+03:00"
    assert t["additional_info"]["daily_window"] == "09:00-12:00"


def test_english_slash_dates_use_the_language_entity(extractor: Any) -> None:
    lang = {"entity": "language", "value": "en", "start": 0, "end": 10}
    (msg,) = extractor.process([message("on 04/05 please", entities=[lang])])
    assert entities_of(msg, "time")[0]["value"].startswith("2027-04-05T00:00")
    (msg,) = extractor.process([message("на 04/05", entities=[])])
    assert entities_of(msg, "time")[0]["value"].startswith("2027-05-04T00:00")


def test_now_follows_msgops_now(extractor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSGOPS_NOW", "2026-12-07T09:00:00+00:00")  # Monday 12:00 in Moscow
    (msg,) = extractor.process([message("сегодня")])
    assert entities_of(msg, "time")[0]["value"].startswith("2026-12-07T00:00:00+03:00")


def test_empty_and_none(extractor: Any) -> None:
    (msg,) = extractor.process([message("")])
    assert entities_of(msg) == []
    (msg,) = extractor.process([message("   ")])
    assert entities_of(msg) == []
