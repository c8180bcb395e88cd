"""`msgops`: look at what the bot recorded and manage running conversations."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import requests


def _records(args: argparse.Namespace) -> int:
    from msgops.records import fetch

    rows = fetch(args.kind)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"no {args.kind} yet")
        return 0
    for row in rows:
        print(" | ".join(f"{k}={_short(v)}" for k, v in row.items() if v not in (None, "", [], {})))
    return 0


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def api_token() -> str:
    """MSGOPS_API_TOKEN, else the token `make run` generated into var/api_token."""
    token = os.environ.get("MSGOPS_API_TOKEN")
    if token:
        return token
    path = Path(os.environ.get("MSGOPS_VAR_DIR", "var")) / "api_token"
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""


HANDBACK_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


def _handback(args: argparse.Namespace) -> int:
    """A human gives the conversation back to the bot (DESIGN: ConversationResumed).

    The customer's messages while the human had the chat are in the tracker without a bot
    turn after them; closing that turn (action_listen) makes the bot answer only what comes
    next, instead of acting on them (a second handoff, say) the first time it is unsure.
    """
    url = f"{args.rasa_url.rstrip('/')}/conversations/{args.conversation_id}/tracker/events"
    response = requests.post(url, params={"token": api_token()},
                             json=HANDBACK_EVENTS, timeout=10)
    if response.ok:
        print(f"the bot answers {args.conversation_id} again")
        return 0
    print(f"Rasa refused: HTTP {response.status_code} {response.text[:200]}", file=sys.stderr)
    return 1


def _metrics(args: argparse.Namespace) -> int:
    from msgops.metrics.report import booking_metrics, first_reply_seconds, lead_metrics, quote_metrics

    report = {"lead": lead_metrics(), "quote": quote_metrics(), "booking": booking_metrics()}
    if args.tracker_db:
        report["first_reply_by_channel"] = first_reply_seconds(args.tracker_db)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def _channels(args: argparse.Namespace) -> int:
    from msgops.channels.status import print_channel_status

    print_channel_status(args.base_url)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="msgops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("records", help="show what the bot recorded")
    rec.add_argument("kind", choices=["contacts", "leads", "meetings", "briefs", "quotes", "bookings", "reviews"])
    rec.add_argument("--json", action="store_true", help="print JSON instead of lines")
    rec.set_defaults(run=_records)
    back = sub.add_parser("handback", help="let the bot answer a conversation a human took over")
    back.add_argument("conversation_id")
    back.add_argument("--rasa-url", default=os.environ.get("MSGOPS_RASA_URL", "http://localhost:5005"))
    back.set_defaults(run=_handback)
    met = sub.add_parser("metrics", help="per-process figures: conversion, handoffs, bookings, "
                                                 "reviews, time to first reply")
    met.add_argument("--tracker-db", default=os.environ.get("MSGOPS_TRACKER_DB_URL", "sqlite:///var/tracker.db"),
                     help="Rasa's tracker store, for time to first reply ('' to skip)")
    met.set_defaults(run=_metrics)
    chan = sub.add_parser("channels", help="each channel's webhook URL and whether it is configured")
    chan.add_argument("--base-url", default=os.environ.get("MSGOPS_PUBLIC_URL", "https://your-domain"))
    chan.set_defaults(run=_channels)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
