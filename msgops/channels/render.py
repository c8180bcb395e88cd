"""The one rendering layer: Rasa bot messages -> platform payloads, within each platform's limits.

Processes say "offer these choices" the Rasa way (``buttons: [{title, payload}]``); nothing in
the actions knows which channel the customer is on. Here, one pure function per platform turns
a bot message dict (``text``, ``buttons``/``quick_replies``, ``image``, ``attachment``,
``elements``, ``custom``) into the list of payloads to send, in order:

===========  ==========================================================================
platform     choices
===========  ==========================================================================
whatsapp     <=3 reply buttons (title <=20, unique; payload is the id), 4-10 a list
             message (row title <=24, the full title as row description), more a
             numbered text menu; text split at 4096 (interactive body at 1024)
instagram    <=13 quick replies (title <=20), more a numbered menu; text split at 1000 bytes
facebook     <=3 postback buttons (button template, text <=640), <=13 quick replies, more a
             numbered menu; text split at 2000
telegram     inline keyboard while every payload fits callback_data (64 bytes), else a
             numbered menu; text split at 4096
===========  ==========================================================================

A numbered menu is answered with the number; ``resolve_numbered_answer`` maps it back to the
payload using the same ordering, given the buttons of the bot's last message (the connectors
read them from the Rasa tracker, so no extra storage is needed).

Payloads leave out the recipient (``to``, ``recipient``, ``chat_id``): the output channel adds
it, together with the 24-hour-window decisions, which are not a rendering concern.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

WHATSAPP = "whatsapp"
INSTAGRAM = "instagram"
MESSENGER = "facebook"
TELEGRAM = "telegram"

NONE = "none"
NUMBERED = "numbered"
REPLY_BUTTONS = "reply_buttons"
LIST = "list"
QUICK_REPLIES = "quick_replies"
BUTTON_TEMPLATE = "button_template"
INLINE_KEYBOARD = "inline_keyboard"

# WhatsApp Cloud API
WA_TEXT_LIMIT = 4096
WA_INTERACTIVE_BODY_LIMIT = 1024
WA_MAX_REPLY_BUTTONS = 3
WA_REPLY_TITLE_LIMIT = 20
WA_REPLY_ID_LIMIT = 256
WA_MAX_LIST_ROWS = 10
WA_ROW_TITLE_LIMIT = 24
WA_ROW_DESCRIPTION_LIMIT = 72
WA_ROW_ID_LIMIT = 200
WA_LIST_BUTTON_LIMIT = 20
WA_TEMPLATE_PARAM_LIMIT = 1000
# Instagram Messaging / Messenger Platform
IG_TEXT_BYTES = 1000
FB_TEXT_LIMIT = 2000
FB_BUTTON_TEMPLATE_TEXT_LIMIT = 640
FB_MAX_TEMPLATE_BUTTONS = 3
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
QUICK_REPLY_PAYLOAD_LIMIT = 1000
# Telegram Bot API
TG_TEXT_LIMIT = 4096
TG_CALLBACK_DATA_BYTES = 64
TG_MAX_BUTTONS = 100

_UI = {
    "choose": {"ru": "Выберите вариант:", "en": "Please choose:"},
    "list_button": {"ru": "Выбрать", "en": "Choose"},
    "numbered_hint": {
        "ru": "Ответьте номером варианта.",
        "en": "Reply with the number of your choice.",
    },
}


def _ui(key: str, language: Optional[str]) -> str:
    texts = _UI[key]
    if language in texts:
        return texts[language]
    return f"{texts['ru']} / {texts['en']}"


@dataclass(frozen=True)
class Choice:
    """One answer the customer can pick: what they see and what the bot receives."""

    title: str
    payload: str


# -- choices -------------------------------------------------------------------------------


def choices_of(message: Dict[str, Any]) -> Tuple[List[Choice], List[Tuple[str, str]]]:
    """Postback choices (deduplicated by payload, order kept) and link buttons of a message."""
    raw = message.get("buttons") or message.get("quick_replies") or []
    choices: List[Choice] = []
    links: List[Tuple[str, str]] = []
    seen = set()
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        if button.get("url") and not button.get("payload"):
            links.append((title, str(button["url"])))
            continue
        payload = str(button.get("payload") or title).strip()
        if not payload or payload in seen:
            continue
        seen.add(payload)
        choices.append(Choice(title=title or payload, payload=payload))
    return choices, links


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def choice_style(platform: str, choices: Sequence[Choice]) -> str:
    """How ``platform`` shows these choices; decided by the choices alone (never the text),
    so the connector can tell later whether a bare number answers a numbered menu."""
    n = len(choices)
    if n == 0:
        return NONE
    longest = max(len(c.payload) for c in choices)
    if platform == WHATSAPP:
        if n <= WA_MAX_REPLY_BUTTONS and longest <= WA_REPLY_ID_LIMIT:
            return REPLY_BUTTONS
        if n <= WA_MAX_LIST_ROWS and longest <= WA_ROW_ID_LIMIT:
            return LIST
        return NUMBERED
    if platform == MESSENGER:
        if longest > QUICK_REPLY_PAYLOAD_LIMIT:
            return NUMBERED
        if n <= FB_MAX_TEMPLATE_BUTTONS:
            return BUTTON_TEMPLATE
        return QUICK_REPLIES if n <= MAX_QUICK_REPLIES else NUMBERED
    if platform == INSTAGRAM:
        if n <= MAX_QUICK_REPLIES and longest <= QUICK_REPLY_PAYLOAD_LIMIT:
            return QUICK_REPLIES
        return NUMBERED
    if platform == TELEGRAM:
        if n <= TG_MAX_BUTTONS and max(_utf8_len(c.payload) for c in choices) <= TG_CALLBACK_DATA_BYTES:
            return INLINE_KEYBOARD
        return NUMBERED
    return NUMBERED


_NUMBER_ANSWER = re.compile(r"^\s*(?:№\s*)?(\d{1,3})\s*[.)]?\s*$")


def resolve_numbered_answer(
    platform: str, text: Optional[str], buttons: Optional[List[Dict[str, Any]]]
) -> Optional[str]:
    """The payload a bare number picks from the numbered menu these buttons were shown as.

    None when the text is not a bare number, the number is out of range, or the buttons were
    not shown as a numbered menu on this platform (a "2" typed under reply buttons is text).
    """
    if not text or not buttons:
        return None
    match = _NUMBER_ANSWER.match(text)
    if not match:
        return None
    choices, _ = choices_of({"buttons": buttons})
    if choice_style(platform, choices) != NUMBERED:
        return None
    index = int(match.group(1))
    if 1 <= index <= len(choices):
        return choices[index - 1].payload
    return None


def numbered_menu(text: str, choices: Sequence[Choice], language: Optional[str]) -> str:
    lines = [f"{i}. {c.title}" for i, c in enumerate(choices, start=1)]
    head = text.strip()
    parts = ([head] if head else []) + ["\n".join(lines), _ui("numbered_hint", language)]
    return "\n\n".join(parts)


# -- text ----------------------------------------------------------------------------------


def _prefix_within(text: str, limit: int, measure: str) -> int:
    """Length (in characters) of the longest prefix of ``text`` within ``limit``."""
    if measure == "bytes":
        return len(text.encode("utf-8")[:limit].decode("utf-8", "ignore"))
    return min(len(text), limit)


def _size(text: str, measure: str) -> int:
    return _utf8_len(text) if measure == "bytes" else len(text)


def split_text(text: Optional[str], limit: int, *, measure: str = "chars") -> List[str]:
    """Split at paragraph, line, sentence or word boundaries so each part fits ``limit``.

    ``measure`` is ``chars`` or ``bytes`` (UTF-8; Instagram counts bytes, and a Cyrillic letter
    is two of them). A boundary is used only if it keeps at least half the allowed size, so a
    text without spaces is cut hard rather than into slivers.
    """
    rest = (text or "").strip()
    parts: List[str] = []
    while rest:
        if _size(rest, measure) <= limit:
            parts.append(rest)
            break
        cut = max(1, _prefix_within(rest, limit, measure))
        window = rest[:cut]
        for separator, keep in (("\n\n", 0), ("\n", 0), (". ", 1), ("! ", 1), ("? ", 1), (" ", 0)):
            index = window.rfind(separator)
            if index > 0 and index + keep >= cut // 2:
                cut = index + keep
                break
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    return parts


def fit(title: str, limit: int) -> str:
    """``title`` within ``limit`` characters, cut with an ellipsis."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    return title[: limit - 1].rstrip() + "…"


def unique_titles(titles: Sequence[str], limit: int) -> List[str]:
    """Fit each title and make them pairwise different (WhatsApp refuses duplicates)."""
    result: List[str] = []
    for title in titles:
        candidate = fit(title, limit)
        counter = 2
        while candidate in result:
            suffix = f" ({counter})"
            candidate = fit(title, limit - len(suffix)) + suffix
            counter += 1
        result.append(candidate)
    return result


def _head_and_last(text: str, limit: int, measure: str = "chars") -> Tuple[List[str], str]:
    parts = split_text(text, limit, measure=measure)
    if not parts:
        return [], ""
    return parts[:-1], parts[-1]


def _with_links(text: str, links: Sequence[Tuple[str, str]]) -> str:
    if not links:
        return text
    lines = [f"{title}: {url}" if title else url for title, url in links]
    return "\n".join([text] + lines if text else lines)


def _custom_for(message: Dict[str, Any], platform: str) -> List[Dict[str, Any]]:
    """Raw platform payloads a response carries under ``custom: {<platform>: ...}``."""
    custom = message.get("custom")
    if not isinstance(custom, dict):
        return []
    raw = custom.get(platform)
    if isinstance(raw, dict):
        return [raw]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, dict)]
    return []


def _attachment_url(message: Dict[str, Any]) -> Optional[str]:
    attachment = message.get("attachment")
    if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
        return attachment
    return None


def _render_elements(
    message: Dict[str, Any], renderer: Callable[..., List[Dict[str, Any]]], language: Optional[str]
) -> List[Dict[str, Any]]:
    """Carousel elements have no equivalent everywhere: each becomes a message of its own."""
    out: List[Dict[str, Any]] = []
    for element in message.get("elements") or []:
        if not isinstance(element, dict):
            continue
        text = "\n".join(
            str(element[k]) for k in ("title", "subtitle") if element.get(k)
        )
        out.extend(
            renderer(
                {"text": text, "buttons": element.get("buttons"), "image": element.get("image_url")},
                language,
            )
        )
    return out


# -- WhatsApp ------------------------------------------------------------------------------


def _wa_text(body: str) -> Dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": "http" in body}}


def render_whatsapp(message: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, Any]]:
    """WhatsApp Cloud API message objects (without ``messaging_product`` and ``to``)."""
    out: List[Dict[str, Any]] = []
    choices, links = choices_of(message)
    text = _with_links(str(message.get("text") or "").strip(), links)
    style = choice_style(WHATSAPP, choices)
    if style == NONE:
        out.extend(_wa_text(p) for p in split_text(text, WA_TEXT_LIMIT))
    elif style == NUMBERED:
        out.extend(_wa_text(p) for p in split_text(numbered_menu(text, choices, language), WA_TEXT_LIMIT))
    else:
        head, body = _head_and_last(text or _ui("choose", language), WA_INTERACTIVE_BODY_LIMIT)
        out.extend(_wa_text(p) for p in head)
        if style == REPLY_BUTTONS:
            titles = unique_titles([c.title for c in choices], WA_REPLY_TITLE_LIMIT)
            action: Dict[str, Any] = {
                "buttons": [
                    {"type": "reply", "reply": {"id": c.payload, "title": t}}
                    for c, t in zip(choices, titles, strict=False)
                ]
            }
            out.append({"type": "interactive",
                        "interactive": {"type": "button", "body": {"text": body}, "action": action}})
        else:
            titles = unique_titles([c.title for c in choices], WA_ROW_TITLE_LIMIT)
            rows = []
            for choice, title in zip(choices, titles, strict=False):
                row: Dict[str, Any] = {"id": choice.payload, "title": title}
                if fit(choice.title, WA_ROW_TITLE_LIMIT) != " ".join(choice.title.split()):
                    row["description"] = fit(choice.title, WA_ROW_DESCRIPTION_LIMIT)
                rows.append(row)
            out.append({
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": {"text": body},
                    "action": {
                        "button": fit(_ui("list_button", language), WA_LIST_BUTTON_LIMIT),
                        "sections": [{"rows": rows}],
                    },
                },
            })
    out.extend(_custom_for(message, WHATSAPP))
    if message.get("image"):
        out.append({"type": "image", "image": {"link": str(message["image"])}})
    url = _attachment_url(message)
    if url:
        out.append({"type": "document", "document": {"link": url}})
    out.extend(_render_elements(message, render_whatsapp, language))
    return out


def _template_param(text: str) -> str:
    """WhatsApp template parameters may not contain newlines, tabs or 4+ spaces in a row."""
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    flat = re.sub(r"[\t ]{2,}", " ", flat)
    return fit(flat, WA_TEMPLATE_PARAM_LIMIT)


def whatsapp_template(
    name: str, language_code: str, text: Optional[str], *, body_params: int = 1
) -> Dict[str, Any]:
    """An approved template message carrying ``text`` as its one body variable ``{{1}}``.

    ``body_params=0`` sends the template as approved, without variables (the text is then only
    in our logs and the tracker).
    """
    template: Dict[str, Any] = {"name": name, "language": {"code": language_code}}
    if body_params and text:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": _template_param(text)}]}
        ]
    return {"type": "template", "template": template}


def text_language(text: Optional[str]) -> Optional[str]:
    """``ru`` if the text is mostly Cyrillic, ``en`` if mostly Latin, else None."""
    if not text:
        return None
    cyrillic = len(re.findall(r"[А-Яа-яЁё]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    if cyrillic == latin == 0:
        return None
    return "ru" if cyrillic >= latin else "en"


# -- Instagram and Messenger ----------------------------------------------------------------


def _meta_text_parts(text: str, platform: str) -> List[str]:
    if platform == INSTAGRAM:
        return split_text(text, IG_TEXT_BYTES, measure="bytes")
    return split_text(text, FB_TEXT_LIMIT)


def _meta_quick_replies(choices: Sequence[Choice]) -> List[Dict[str, Any]]:
    titles = unique_titles([c.title for c in choices], QUICK_REPLY_TITLE_LIMIT)
    return [
        {"content_type": "text", "title": t, "payload": c.payload} for c, t in zip(choices, titles, strict=False)
    ]


def _render_meta(message: Dict[str, Any], language: Optional[str], platform: str) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    choices, links = choices_of(message)
    text = _with_links(str(message.get("text") or "").strip(), links)
    style = choice_style(platform, choices)
    if style == NONE:
        out.extend({"text": p} for p in _meta_text_parts(text, platform))
    elif style == NUMBERED:
        out.extend({"text": p} for p in _meta_text_parts(numbered_menu(text, choices, language), platform))
    else:
        parts = _meta_text_parts(text or _ui("choose", language), platform)
        head, body = parts[:-1], parts[-1]
        if style == BUTTON_TEMPLATE and len(body) > FB_BUTTON_TEMPLATE_TEXT_LIMIT:
            style = QUICK_REPLIES
        out.extend({"text": p} for p in head)
        if style == BUTTON_TEMPLATE:
            titles = unique_titles([c.title for c in choices], QUICK_REPLY_TITLE_LIMIT)
            out.append({
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "button",
                        "text": body,
                        "buttons": [
                            {"type": "postback", "title": t, "payload": c.payload}
                            for c, t in zip(choices, titles, strict=False)
                        ],
                    },
                }
            })
        else:
            out.append({"text": body, "quick_replies": _meta_quick_replies(choices)})
    out.extend(_custom_for(message, platform))
    if message.get("image"):
        out.append({"attachment": {"type": "image",
                                   "payload": {"url": str(message["image"]), "is_reusable": True}}})
    url = _attachment_url(message)
    if url:
        out.append({"attachment": {"type": "file", "payload": {"url": url, "is_reusable": True}}})
    out.extend(_render_elements(message, lambda m, lang: _render_meta(m, lang, platform), language))
    return out


def render_instagram(message: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, Any]]:
    """Instagram Send API ``message`` objects (text split at 1000 UTF-8 bytes)."""
    return _render_meta(message, language, INSTAGRAM)


def render_messenger(message: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, Any]]:
    """Messenger Send API ``message`` objects (text split at 2000 characters)."""
    return _render_meta(message, language, MESSENGER)


# -- Telegram ------------------------------------------------------------------------------


def _tg_keyboard(choices: Sequence[Choice], links: Sequence[Tuple[str, str]]) -> Dict[str, Any]:
    buttons = [{"text": c.title, "callback_data": c.payload} for c in choices]
    buttons += [{"text": title or url, "url": url} for title, url in links]
    short = len(buttons) <= 3 and all(len(b["text"]) <= 12 for b in buttons)
    rows = [buttons] if short else [[b] for b in buttons]
    return {"inline_keyboard": rows}


def render_telegram(message: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, Any]]:
    """Bot API calls ``{"method": ..., "params": {...}}`` (without ``chat_id``)."""
    out: List[Dict[str, Any]] = []
    choices, links = choices_of(message)
    text = str(message.get("text") or "").strip()
    style = choice_style(TELEGRAM, choices)
    if style == NUMBERED:
        text = numbered_menu(_with_links(text, links), choices, language)
        links = []
    if style == INLINE_KEYBOARD or (style in (NONE, NUMBERED) and links):
        head, body = _head_and_last(text or _ui("choose", language), TG_TEXT_LIMIT)
        out.extend({"method": "sendMessage", "params": {"text": p}} for p in head)
        keyboard_choices = choices if style == INLINE_KEYBOARD else []
        out.append({"method": "sendMessage",
                    "params": {"text": body, "reply_markup": _tg_keyboard(keyboard_choices, links)}})
    else:
        out.extend({"method": "sendMessage", "params": {"text": p}} for p in split_text(text, TG_TEXT_LIMIT))
    out.extend(_custom_for(message, TELEGRAM))
    if message.get("image"):
        out.append({"method": "sendPhoto", "params": {"photo": str(message["image"])}})
    url = _attachment_url(message)
    if url:
        out.append({"method": "sendDocument", "params": {"document": url}})
    out.extend(_render_elements(message, render_telegram, language))
    return out


RENDERERS: Dict[str, Callable[[Dict[str, Any], Optional[str]], List[Dict[str, Any]]]] = {
    WHATSAPP: render_whatsapp,
    INSTAGRAM: render_instagram,
    MESSENGER: render_messenger,
    TELEGRAM: render_telegram,
}


def render(platform: str, message: Dict[str, Any], language: Optional[str] = None) -> List[Dict[str, Any]]:
    """Payloads for ``platform``; the single entry point the output channels use."""
    return RENDERERS[platform](message, language)
