"""Console overview of the channels: the webhook URL to paste into each platform's console and
whether its secrets are set (never their values).

    python -m msgops.channels.status https://bot.example.com [--credentials credentials.yml]

Rasa mounts a custom channel's blueprint at ``/webhooks/<name>``; the connectors receive on
``/webhook`` below it. With ``--credentials`` the environment variables are read from the
template's ``${ENV_VAR}`` references; without it the names suggested in docs/channels.md are
assumed.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, TextIO

from msgops.channels.credentials import CHANNELS, template_env_names


def webhook_url(base_url: str, channel: str) -> str:
    return f"{base_url.rstrip('/')}/webhooks/{channel}/webhook"


def channel_status(
    base_url: str,
    credentials_path: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> List[Dict[str, Any]]:
    """One row per connector: name, webhook URL, active (all required secrets set), secrets."""
    env = os.environ if env is None else env
    from_template = template_env_names(credentials_path)
    rows: List[Dict[str, Any]] = []
    for spec in CHANNELS:
        names = from_template.get(spec.name)
        secrets = []
        keys = list(spec.required) + [(key,) for key in spec.optional]
        for aliases in keys:
            key = aliases[0]
            if names is None:
                variables = [spec.env[key]] if key in spec.env else []
            else:
                variables = next((names[a] for a in aliases if names.get(a)), [])
                if not variables:
                    # the template names no variable for it (a literal value, or absent)
                    if key in spec.optional:
                        continue
                    variables = [spec.env.get(key, key.upper())]
            is_set = all(str(env.get(v, "")).strip() for v in variables) if variables else False
            secrets.append({"key": key, "env": variables, "set": is_set,
                            "required": key in spec.required_keys})
        rows.append({
            "channel": spec.name,
            "class_path": spec.class_path,
            "webhook_url": webhook_url(base_url, spec.name),
            "in_template": names is not None if credentials_path else None,
            "active": all(s["set"] for s in secrets if s["required"]),
            "secrets": secrets,
        })
    return rows


def print_channel_status(
    base_url: str,
    credentials_path: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    out: Optional[TextIO] = None,
) -> List[Dict[str, Any]]:
    """Print each channel's webhook URL and which of its secrets are set; returns the rows."""
    out = out or sys.stdout
    rows = channel_status(base_url, credentials_path, env)
    for row in rows:
        state = "ready" if row["active"] else "not configured"
        if row["in_template"] is False:
            state += " (not in credentials.yml)"
        print(f"{row['channel']:<10} {state}", file=out)
        print(f"  webhook: {row['webhook_url']}", file=out)
        width = max((len(s["key"]) for s in row["secrets"]), default=0) + 1
        for secret in row["secrets"]:
            mark = "set" if secret["set"] else ("MISSING" if secret["required"] else "not set")
            optional = "" if secret["required"] else " (optional)"
            print(f"  {secret['key']:<{width}} {', '.join(secret['env']):<40} {mark}{optional}", file=out)
        if row["channel"] == "telegram" and row["active"]:
            print("  register: POST /webhooks/telegram/set_webhook with header "
                  "X-Telegram-Bot-Api-Secret-Token", file=out)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="public base URL of the Rasa server, e.g. https://bot.example.com")
    parser.add_argument("--credentials", help="credentials.yml template with ${ENV_VAR} references")
    args = parser.parse_args(argv)
    print_channel_status(args.base_url, args.credentials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
