"""Which channels can start: a credentials.yml with only the channels whose secrets are set.

credentials.yml refers to secrets as ``${ENV_VAR}``; Rasa expands them at start-up and stops
with an error if one is unset. A business that connects only Telegram must still be able to
start, so the run script calls ``write_active_credentials(template, output)`` first: the copy
keeps a channel only if every environment variable its required keys refer to is set, drops
optional keys whose variables are unset (e.g. ``followup_template``), and keeps the
``${ENV_VAR}`` references as they are, so no secret is ever written to disk.

This module is also the registry of our connectors (name, class path, required keys and the
environment variables the docs suggest), used by ``status`` and by the connectors themselves.
It imports neither Rasa nor Sanic, so a script can use it cheaply.
"""
from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import yaml

logger = logging.getLogger(__name__)

_ENV_REF = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class ChannelSpec:
    """One of our connectors as credentials.yml and the status command see it."""

    name: str
    class_path: str
    #: one tuple per required secret: the key names accepted for it (ours first)
    required: Tuple[Tuple[str, ...], ...]
    #: suggested environment variable per key (docs/channels.md uses the same names)
    env: Dict[str, str] = field(default_factory=dict)
    optional: Tuple[str, ...] = ()

    @property
    def required_keys(self) -> Tuple[str, ...]:
        return tuple(aliases[0] for aliases in self.required)


CHANNELS: Tuple[ChannelSpec, ...] = (
    ChannelSpec(
        name="whatsapp",
        class_path="msgops.channels.whatsapp.WhatsAppInput",
        required=(("access_token",), ("app_secret",), ("verify_token",), ("phone_number_id",)),
        env={
            "access_token": "MSGOPS_WHATSAPP_ACCESS_TOKEN",
            "app_secret": "MSGOPS_WHATSAPP_APP_SECRET",
            "verify_token": "MSGOPS_WHATSAPP_VERIFY_TOKEN",
            "phone_number_id": "MSGOPS_WHATSAPP_PHONE_NUMBER_ID",
            "followup_template": "MSGOPS_WHATSAPP_FOLLOWUP_TEMPLATE",
        },
        optional=("followup_template",),
    ),
    ChannelSpec(
        name="instagram",
        class_path="msgops.channels.instagram.InstagramInput",
        required=(("access_token",), ("app_secret",), ("verify_token",)),
        env={
            "access_token": "MSGOPS_INSTAGRAM_ACCESS_TOKEN",
            "app_secret": "MSGOPS_INSTAGRAM_APP_SECRET",
            "verify_token": "MSGOPS_INSTAGRAM_VERIFY_TOKEN",
        },
    ),
    ChannelSpec(
        name="facebook",
        class_path="msgops.channels.messenger.MessengerInput",
        required=(
            ("access_token", "page-access-token"),
            ("app_secret", "secret"),
            ("verify_token", "verify"),
        ),
        env={
            "access_token": "MSGOPS_MESSENGER_PAGE_ACCESS_TOKEN",
            "app_secret": "MSGOPS_MESSENGER_APP_SECRET",
            "verify_token": "MSGOPS_MESSENGER_VERIFY_TOKEN",
        },
    ),
    ChannelSpec(
        name="telegram",
        class_path="msgops.channels.telegram.TelegramInput",
        required=(("access_token",), ("secret_token",)),
        env={
            "access_token": "MSGOPS_TELEGRAM_TOKEN",
            "secret_token": "MSGOPS_TELEGRAM_SECRET_TOKEN",
            "webhook_url": "MSGOPS_TELEGRAM_WEBHOOK_URL",
            "verify": "MSGOPS_TELEGRAM_BOT_USERNAME",
        },
        optional=("webhook_url", "verify"),
    ),
)

BY_CLASS_PATH: Dict[str, ChannelSpec] = {spec.class_path: spec for spec in CHANNELS}
BY_NAME: Dict[str, ChannelSpec] = {spec.name: spec for spec in CHANNELS}


def key_aliases(name: str) -> Dict[str, Tuple[str, ...]]:
    """Required key -> the key names accepted for it, for the connector called ``name``."""
    return {aliases[0]: aliases for aliases in BY_NAME[name].required}


# -- YAML without Rasa's ${ENV} expansion ----------------------------------------------------------
# Rasa registers an implicit resolver for ${...} on PyYAML's global Resolver. Loading with it
# would expand (or fail on) the very references we need to see, and dumping with it would
# quote them, so Rasa would no longer expand them. These classes carry their own copy of
# the resolvers without it.


def _without_env_resolver(resolvers: Dict[Any, List[Tuple[str, Any]]]) -> Dict[Any, List[Tuple[str, Any]]]:
    return {first: [(tag, rx) for tag, rx in items if tag != "!env_var"]
            for first, items in resolvers.items()}


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Loader.yaml_implicit_resolvers = _without_env_resolver(yaml.SafeLoader.yaml_implicit_resolvers)
_Dumper.yaml_implicit_resolvers = _without_env_resolver(yaml.SafeDumper.yaml_implicit_resolvers)


def _load(path: Union[str, Path]) -> Dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of channels, got {type(data).__name__}")
    return data


def env_refs(value: Any) -> Set[str]:
    """Every ``${VAR}`` referenced anywhere inside ``value``."""
    if isinstance(value, str):
        return set(_ENV_REF.findall(value))
    if isinstance(value, dict):
        return set().union(*(env_refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(env_refs(v) for v in value)) if value else set()
    return set()


def _is_set(env: Mapping[str, str], var: str) -> bool:
    return bool(str(env.get(var, "")).strip())


@dataclass
class ActiveCredentials:
    """What ``write_active_credentials`` kept and what it left out (with the unset variables)."""

    kept: List[str] = field(default_factory=list)
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    dropped_keys: Dict[str, List[str]] = field(default_factory=dict)


def _filter_channel(
    key: str, config: Any, env: Mapping[str, str]
) -> Tuple[Optional[Any], List[str], List[str]]:
    """(config to keep or None, unset variables that dropped it, optional keys removed)."""
    if not isinstance(config, dict):
        missing = sorted(v for v in env_refs(config) if not _is_set(env, v))
        return (None if missing else config), missing, []
    spec = BY_CLASS_PATH.get(key)
    if spec is None:  # not ours (rest, socketio, ...): every reference is required
        missing = sorted(v for v in env_refs(config) if not _is_set(env, v))
        return (None if missing else config), missing, []
    kept = dict(config)
    missing: List[str] = []
    for aliases in spec.required:
        present = [a for a in aliases if a in config and str(config[a] or "").strip()]
        usable = [a for a in present if all(_is_set(env, v) for v in env_refs(config[a]))]
        if not usable:
            refs = sorted({v for a in present for v in env_refs(config[a]) if not _is_set(env, v)})
            missing.extend(refs or [f"<{aliases[0]} not in credentials>"])
    if missing:
        return None, missing, []
    required_names = {a for aliases in spec.required for a in aliases}
    removed = []
    for name, value in config.items():
        if name in required_names:
            continue
        if any(not _is_set(env, v) for v in env_refs(value)):
            kept.pop(name)
            removed.append(name)
    return kept, [], removed


def active_credentials(
    template: Dict[str, Any], env: Optional[Mapping[str, str]] = None
) -> Tuple[Dict[str, Any], ActiveCredentials]:
    env = os.environ if env is None else env
    result: Dict[str, Any] = {}
    report = ActiveCredentials()
    for key, config in template.items():
        kept, missing, removed = _filter_channel(str(key), config, env)
        if kept is None and missing:
            report.dropped[str(key)] = missing
            continue
        result[key] = kept
        report.kept.append(str(key))
        if removed:
            report.dropped_keys[str(key)] = removed
    return result, report


def write_active_credentials(
    template_path: Union[str, Path],
    output_path: Union[str, Path],
    env: Optional[Mapping[str, str]] = None,
) -> ActiveCredentials:
    """Write ``output_path``: ``template_path`` minus the channels whose secrets are not set.

    Returns what was kept and dropped (and logs it), so the run script can say which channels
    are live. ``${ENV_VAR}`` references are written unexpanded: Rasa expands them.
    """
    template = _load(template_path)
    active, report = active_credentials(template, env)
    for channel, variables in report.dropped.items():
        logger.warning("channel %s left out: %s not set", channel, ", ".join(variables))
    for channel, keys in report.dropped_keys.items():
        logger.info("channel %s: optional %s left out (variable not set)", channel, ", ".join(keys))
    header = (
        f"# Generated from {Path(template_path).name} by msgops.channels.credentials; do not edit.\n"
        f"# Channels left out (secrets not set): {', '.join(report.dropped) or 'none'}\n"
    )
    body = yaml.dump(active, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True) if active else "{}\n"
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(output.suffix + ".tmp")
    tmp.write_text(header + body, encoding="utf-8")
    os.replace(tmp, output)  # never a half-written file for Rasa to read
    return report


def template_env_names(template_path: Optional[Union[str, Path]]) -> Dict[str, Dict[str, List[str]]]:
    """For each of our channels in a template: key -> the variables it refers to."""
    if not template_path:
        return {}
    names: Dict[str, Dict[str, List[str]]] = {}
    for key, config in _load(template_path).items():
        spec = BY_CLASS_PATH.get(str(key))
        if spec is None or not isinstance(config, dict):
            continue
        names[spec.name] = {k: sorted(env_refs(v)) for k, v in config.items() if env_refs(v)}
    return names


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m msgops.channels.credentials credentials.yml var/credentials.active.yml``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m msgops.channels.credentials TEMPLATE OUTPUT", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    report = write_active_credentials(args[0], args[1])
    print(f"channels: {', '.join(report.kept) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
