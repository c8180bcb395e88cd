"""Free-typed answers: services, places, contacts, names."""
import pytest

from msgops.business.answers import read_contact, read_name
from msgops.business.area import find_zone
from msgops.business.catalogue import match_service, price_text
from msgops.business.config import load_business
from msgops.business.money import format_money

CFG = load_business()


@pytest.mark.parametrize("text, expected", [
    ("генеральную уборку", "general_cleaning"), ("генералка", "general_cleaning"),
    ("Deep clean please", "general_cleaning"), ("помыть окна", "window_cleaning"),
    ("химчистку дивана", "upholstery_cleaning"), ("собрать шкаф из икеи", "furniture_assembly"),
    ("нужен муж на час", "handyman"), ("уборка после ремонта", "renovation_cleaning"),
    ("генеральнуюю уборку", "general_cleaning"), ("window_cleaning", "window_cleaning"),
    ("пиццу с грибами", None), ("", None),
    # a typo in a phrase must not leave only one of its words to match ("ремонт" is the handyman)
    ("скока стоит уборка посе ремонта", "renovation_cleaning"), ("after renovaton cleaning", "renovation_cleaning"),
    ("мелкий ремонт", "handyman"), ("ремонт розетки", "handyman"),
])
def test_match_service(text, expected):
    found = match_service(text, CFG)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize("text, zone", [
    ("в Химках", "near"), ("Khimki", "near"), ("москва, марьино", "city"), ("в Мытищах", "near"),
    ("Zelenograd", "far"), ("Тверь", None), ("Подольске", "far"), ("на Арбате", "city"),
])
def test_find_zone(text, zone):
    found = find_zone(text, CFG)
    assert (found.id if found else None) == zone


@pytest.mark.parametrize("text, kind, value", [
    ("+7 916 123-45-67", "phone", "+79161234567"),
    ("8 (916) 123 45 67", "phone", "+79161234567"),
    ("звоните 89161234567", "phone", "+79161234567"),
    ("mail me at Ann.Lee@Example.com", "email", "ann.lee@example.com"),
    ("+44 7911 123456", "phone", "+447911123456"),
    ("+44 7700 900123", "phone", "+447700900123"),  # what the NLU reads as a phone is accepted too
])
def test_read_contact(text, kind, value):
    found = read_contact(text, "RU")
    assert (found.kind, found.value) == (kind, value)


@pytest.mark.parametrize("text", ["123", "да", "позвоните", "", "8 916", "ann@", "нет телефона"])
def test_read_contact_refuses(text):
    assert read_contact(text, "RU") is None


@pytest.mark.parametrize("text, name", [
    ("Ольга", "Ольга"), ("меня зовут дмитрий", "Дмитрий"), ("I'm Sarah", "Sarah"),
    ("John Miller", "John Miller"), ("Ян", "Ян"), ("Анна-Мария", "Анна-Мария"),
    ("Надежда", "Надежда"), ("вера", "Вера"), ("Иван Петров", "Иван Петров"), ("Мария Ивановна", "Мария Ивановна"),
    ("Шахноза", "Шахноза"),  # not in the dictionary: a name gets the benefit of the doubt
])
def test_read_name(text, name):
    assert read_name(text) == name


@pytest.mark.parametrize("text", ["да", "ok", "123", "сколько стоит уборка квартиры в химках завтра",
                                  "позовите менеджера", "", "😀",
                                  "вчера", "Тверь", "в Химках", "генеральная уборка", "Анна из Химок"])
def test_read_name_refuses(text):
    assert read_name(text) is None


def test_money_and_price_text():
    assert format_money(12500, "RUB", "ru") == "12\u202f500\u202f₽"
    assert format_money(12500, "RUB", "en") == "RUB 12,500"
    assert "180" in price_text(CFG.service("general_cleaning"), CFG, "ru")
    assert price_text(CFG.service("handyman"), CFG, "en").startswith("from RUB 1,800 per hour")
