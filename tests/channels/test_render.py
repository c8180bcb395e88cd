"""The rendering layer: pure functions, so plain unit tests."""
from __future__ import annotations

from typing import Dict, List

import pytest

from msgops.channels import render


def buttons(n: int, title: str = "Option number {i}") -> List[Dict[str, str]]:
    return [{"title": title.format(i=i), "payload": f"/choose{{\"n\":{i}}}"} for i in range(1, n + 1)]


# -- text splitting ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [50, 100, 4096])
def test_split_text_fits_and_keeps_every_word(limit):
    text = " ".join(f"word{i}" for i in range(3000))
    parts = render.split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()


def test_split_prefers_paragraphs_and_cuts_words_only_when_it_must():
    text = "First paragraph here.\n\nSecond paragraph is a bit longer than that."
    assert render.split_text(text, 40) == ["First paragraph here.", "Second paragraph is a bit longer than", "that."]
    assert render.split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert render.split_text("", 10) == [] and render.split_text(None, 10) == []


def test_instagram_split_counts_utf8_bytes():
    text = "Привет, это очень длинное сообщение на русском языке. " * 60  # ~100 bytes per sentence
    parts = render.split_text(text, render.IG_TEXT_BYTES, measure="bytes")
    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= 1000 for p in parts)
    assert " ".join(parts).split() == text.split()
    emoji = "😀" * 600  # 4 bytes each, never cut in half
    parts = render.split_text(emoji, 1000, measure="bytes")
    assert all(len(p.encode("utf-8")) <= 1000 for p in parts) and "".join(parts) == emoji


# -- WhatsApp ---------------------------------------------------------------------------------


def test_whatsapp_up_to_three_choices_are_reply_buttons():
    for n in (1, 2, 3):
        (payload,) = render.render_whatsapp({"text": "Pick", "buttons": buttons(n)})
        assert payload["interactive"]["type"] == "button"
        ids = [b["reply"]["id"] for b in payload["interactive"]["action"]["buttons"]]
        assert ids == [b["payload"] for b in buttons(n)]


def test_whatsapp_button_titles_are_cut_to_20_and_unique():
    same = [{"title": "Уборка квартиры после ремонта", "payload": f"/p{i}"} for i in range(3)]
    (payload,) = render.render_whatsapp({"text": "?", "buttons": same})
    titles = [b["reply"]["title"] for b in payload["interactive"]["action"]["buttons"]]
    assert all(len(t) <= 20 for t in titles)
    assert len(set(titles)) == 3


def test_whatsapp_four_to_ten_choices_are_a_list():
    for n in (4, 5, 10):
        choices = buttons(n, "A rather long option title number {i}")
        (payload,) = render.render_whatsapp({"text": "Pick", "buttons": choices})
        interactive = payload["interactive"]
        assert interactive["type"] == "list"
        rows = interactive["action"]["sections"][0]["rows"]
        assert len(rows) == n
        assert all(len(r["title"]) <= 24 for r in rows)
        assert rows[0]["description"].startswith("A rather long option")  # full title kept
        assert len(interactive["action"]["button"]) <= 20


def test_whatsapp_more_than_ten_choices_are_a_numbered_menu_answered_by_number():
    choices = buttons(12)
    (payload,) = render.render_whatsapp({"text": "Pick", "buttons": choices}, language="en")
    body = payload["text"]["body"]
    assert body.startswith("Pick\n\n1. Option number 1\n2. Option number 2")
    assert "Reply with the number" in body
    assert render.resolve_numbered_answer("whatsapp", "2", choices) == choices[1]["payload"]
    assert render.resolve_numbered_answer("whatsapp", " 12. ", choices) == choices[11]["payload"]
    assert render.resolve_numbered_answer("whatsapp", "13", choices) is None
    assert render.resolve_numbered_answer("whatsapp", "0", choices) is None
    assert render.resolve_numbered_answer("whatsapp", "two", choices) is None
    # three choices were reply buttons: a typed "2" is just text
    assert render.resolve_numbered_answer("whatsapp", "2", buttons(3)) is None


def test_whatsapp_payload_too_long_for_an_id_falls_back():
    long_payload = [{"title": "A", "payload": "/x{\"v\":\"" + "a" * 230 + "\"}"}, {"title": "B", "payload": "/b"}]
    (payload,) = render.render_whatsapp({"text": "?", "buttons": long_payload})
    assert payload["interactive"]["type"] == "button"  # ids up to 256
    too_long = [{"title": "A", "payload": "/x" + "a" * 300}, {"title": "B", "payload": "/b"}]
    (payload,) = render.render_whatsapp({"text": "?", "buttons": too_long})
    assert payload["type"] == "text" and "1. A" in payload["text"]["body"]


def test_whatsapp_long_text_with_buttons_keeps_the_body_within_1024():
    text = "Подробное описание. " * 120  # ~2400 characters
    payloads = render.render_whatsapp({"text": text, "buttons": buttons(2)})
    *head, interactive = payloads
    assert head and all(p["type"] == "text" for p in head)
    assert len(interactive["interactive"]["body"]["text"]) <= 1024
    long_text = render.render_whatsapp({"text": "a " * 5000})
    assert len(long_text) == 3 and all(len(p["text"]["body"]) <= 4096 for p in long_text)


def test_whatsapp_image_link_buttons_custom_and_duplicates():
    payloads = render.render_whatsapp({
        "text": "See",
        "buttons": [{"title": "Site", "url": "https://example.com"}, {"title": "Yes", "payload": "/affirm"},
                    {"title": "Yes again", "payload": "/affirm"}],
        "image": "https://example.com/a.jpg",
        "custom": {"whatsapp": {"type": "location", "location": {"latitude": 1, "longitude": 2}},
                   "telegram": {"method": "sendDice"}},
    })
    interactive, custom, image = payloads
    assert "https://example.com" in interactive["interactive"]["body"]["text"]
    assert len(interactive["interactive"]["action"]["buttons"]) == 1  # same payload once
    assert custom["type"] == "location"
    assert image == {"type": "image", "image": {"link": "https://example.com/a.jpg"}}
    assert render.render_whatsapp({"custom": {"something": "else"}}) == []


def test_whatsapp_template_parameter_is_flattened():
    template = render.whatsapp_template("msgops_followup", "ru", "Строка 1\n\nСтрока 2\t\t  конец")
    text = template["template"]["components"][0]["parameters"][0]["text"]
    assert "\n" not in text and "\t" not in text and "  " not in text
    bare = render.whatsapp_template("msgops_followup", "en", "x", body_params=0)
    assert "components" not in bare["template"]


# -- Instagram and Messenger ---------------------------------------------------------------------


def test_instagram_quick_replies_up_to_13_then_numbered():
    (payload,) = render.render_instagram({"text": "Pick", "buttons": buttons(13, "Quite a long title {i}")})
    assert len(payload["quick_replies"]) == 13
    assert all(len(q["title"]) <= 20 and q["content_type"] == "text" for q in payload["quick_replies"])
    (numbered,) = render.render_instagram({"text": "Pick", "buttons": buttons(14)})
    assert "quick_replies" not in numbered and "14. Option number 14" in numbered["text"]


def test_instagram_text_is_split_at_1000_bytes():
    text = "Ж" * 1500  # 3000 bytes, no spaces
    payloads = render.render_instagram({"text": text, "buttons": buttons(2)})
    assert all(len(p["text"].encode()) <= 1000 for p in payloads)
    assert "".join(p["text"] for p in payloads) == text
    assert "quick_replies" in payloads[-1]


def test_messenger_buttons_template_quick_replies_or_numbered():
    (template,) = render.render_messenger({"text": "Pick", "buttons": buttons(3)})
    assert template["attachment"]["payload"]["template_type"] == "button"
    assert [b["type"] for b in template["attachment"]["payload"]["buttons"]] == ["postback"] * 3
    (quick,) = render.render_messenger({"text": "x" * 700, "buttons": buttons(2)})  # text > 640
    assert len(quick["quick_replies"]) == 2
    (five,) = render.render_messenger({"text": "Pick", "buttons": buttons(5)})
    assert len(five["quick_replies"]) == 5
    (numbered,) = render.render_messenger({"text": "Pick", "buttons": buttons(14)})
    assert "1. Option number 1" in numbered["text"]
    parts = render.render_messenger({"text": "word " * 1000})
    assert len(parts) == 3 and all(len(p["text"]) <= 2000 for p in parts)


# -- Telegram ---------------------------------------------------------------------------------


def test_telegram_inline_keyboard_and_callback_data_limit():
    (call,) = render.render_telegram({"text": "Pick", "buttons": buttons(12)})
    rows = call["params"]["reply_markup"]["inline_keyboard"]
    assert len(rows) == 12 and rows[1][0]["callback_data"] == buttons(12)[1]["payload"]
    (short,) = render.render_telegram({"text": "Ok?", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                                  {"title": "No", "payload": "/deny"}]})
    assert len(short["params"]["reply_markup"]["inline_keyboard"]) == 1
    long_data = [{"title": "A", "payload": "/choose{\"plan\":\"" + "b" * 60 + "\"}"}, {"title": "B", "payload": "/b"}]
    (numbered,) = render.render_telegram({"text": "Pick", "buttons": long_data})
    assert "reply_markup" not in numbered["params"] and "1. A" in numbered["params"]["text"]
    assert render.resolve_numbered_answer("telegram", "1", long_data) == long_data[0]["payload"]


def test_telegram_text_split_and_image():
    calls = render.render_telegram({"text": "z " * 5000, "image": "https://example.com/p.png"})
    texts = [c for c in calls if c["method"] == "sendMessage"]
    assert len(texts) == 3 and all(len(c["params"]["text"]) <= 4096 for c in texts)
    assert calls[-1] == {"method": "sendPhoto", "params": {"photo": "https://example.com/p.png"}}


def test_text_language():
    assert render.text_language("Напоминаем о встрече") == "ru"
    assert render.text_language("Reminder: tomorrow") == "en"
    assert render.text_language("👍 123") is None
