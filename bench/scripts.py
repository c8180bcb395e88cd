"""Scripted customers for the latency benchmark, in Russian and English.

Each script is what one customer types, message by message, with a kind per message so the
report can say which kind of message is slow. `TIME_BUTTON` means "press the first call time
the bot offered" (its payload), or type the fallback text when no button came.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

TIME_BUTTON = "<first time button>"


@dataclass(frozen=True)
class Script:
    name: str
    lang: str
    steps: Tuple[Tuple[str, str], ...]  # (kind, text); text may be TIME_BUTTON
    fallback_time: str = ""


def long_message(lang: str, size: int = 5000) -> str:
    """A realistic over-long message of exactly `size` characters."""
    if lang == "ru":
        para = ("Здравствуйте! Пишу подробно, чтобы было понятно. У нас трёхкомнатная квартира "
                "в Мытищах, 78 квадратных метров, после ремонта осталась строительная пыль, "
                "следы краски на окнах и затирка на плитке в ванной. Нужно помыть окна (шесть "
                "штук и балкон), убрать кухню, почистить диван и два кресла. ")
        ask = "Сколько это будет стоить и когда можете приехать?"
    else:
        para = ("Hello! Writing in detail so it is all clear. We have a three-bedroom flat in "
                "Khimki, 78 square metres, and after the renovation there is building dust "
                "everywhere, paint on the windows and grout on the bathroom tiles. We need the "
                "windows washed (six plus the balcony), the kitchen done, the sofa cleaned. ")
        ask = "How much would all of this cost and when can you come?"
    body = (para * (size // len(para) + 1))[: size - len(ask) - 1]
    return body + " " + ask


SCRIPTS: List[Script] = [
    Script("lead in short messages", "ru", (
        ("greeting+price", "Здравствуйте! Сколько стоит генеральная уборка?"),
        ("place", "в Мытищах"),
        ("date", "в субботу после обеда"),
        ("name", "Ирина Соколова"),
        ("phone", "+7 903 555-12-34"),
        ("button", TIME_BUTTON),
        ("thanks", "спасибо большое!"),
    ), fallback_time="завтра в 11"),
    Script("lead in short messages", "en", (
        ("price", "hi, how much for window cleaning?"),
        ("place", "Odintsovo"),
        ("date", "next Friday morning"),
        ("name", "I'm Peter"),
        ("email", "peter.novak@example.com"),
        ("button", TIME_BUTTON),
        ("thanks", "great, thanks!"),
    ), fallback_time="Monday at 3pm"),
    Script("everything at once", "ru", (
        ("price+entities", "Добрый день, я Алексей, нужна сборка мебели в Красногорске в пятницу "
                           "вечером, мой телефон 89161112233, бюджет 5000 руб. Сколько выйдет?"),
        ("button", TIME_BUTTON),
        ("goodbye", "всё, до свидания"),
    ), fallback_time="в понедельник в 12"),
    Script("everything at once", "en", (
        ("price+entities", "Hi, I'm John Miller. How much is a deep clean in Krasnogorsk next "
                           "Friday? You can call me on +7 916 222 33 44"),
        ("button", TIME_BUTTON),
        ("goodbye", "bye"),
    ), fallback_time="Tuesday at 11am"),
    Script("chit-chat, off-topic, stop", "ru", (
        ("greeting", "привет"),
        ("bot challenge", "а ты вообще бот?"),
        ("off-topic", "какая завтра погода в Москве?"),
        ("price", "сколько стоит помыть окна?"),
        ("stop", "стоп, не надо"),
        ("goodbye", "пока"),
    )),
    Script("chit-chat, off-topic, stop", "en", (
        ("greeting", "hello there"),
        ("bot challenge", "am I talking to a bot?"),
        ("off-topic", "who won the football yesterday?"),
        ("price", "what do you charge for sofa cleaning"),
        ("stop", "never mind, forget it"),
    )),
    Script("human request", "ru", (
        ("greeting", "добрый вечер"),
        ("price", "почем химчистка дивана в Люберцах?"),
        ("human", "позовите живого менеджера пожалуйста"),
    )),
    Script("human request", "en", (
        ("greeting", "good morning"),
        ("human", "can I talk to a real person please"),
    )),
    Script("long message and emoji", "ru", (
        ("5000 chars", long_message("ru")),
        ("emoji", "👍😊"),
        ("name", "меня зовут Ольга"),
        ("emoji", "🙈🙈🙈"),
        ("stop", "ладно, передумала"),
    )),
    Script("long message and emoji", "en", (
        ("emoji", "👋"),
        ("5000 chars", long_message("en")),
        ("emoji", "😂😂"),
        ("name+phone", "Kate, 8 926 700 11 22"),
        ("stop", "stop"),
    )),
]
