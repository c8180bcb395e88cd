"""`rasa data validate --fail-on-warnings`, minus the one warning that is wrong for msgops.

Rasa counts a response as unused unless a story or rule names it, but most of our
responses are sent by custom actions (with variables and buttons); and EXTERNAL_ intents
(from the scheduler) and share_* intents (from the channel connectors) never have NLU
data. This runs Rasa's own validator and fails on every other warning, and on an unused
response unless an action or a form question really refers to it.
"""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from rasa.cli.utils import validate_files
from rasa.shared.importers.importer import TrainingDataImporter

ROOT = Path(__file__).resolve().parents[1]
UNUSED_RESPONSE = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
EXTERNAL_INTENT = re.compile(r"The intent '(EXTERNAL_\w+)' is listed in the domain file, but is not found")
# Intents only the channel connectors send, as payloads (docs/channels.md); nobody types them.
PAYLOAD_INTENTS = re.compile(r"The intent '(share_media|share_location|share_contact)' is listed in the domain file")


def referenced_responses() -> set[str]:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").rglob("*.py"))
    return set(re.findall(r"\"(utter_\w+)", code)) | set(re.findall(r"f\"(utter_\w+)_\{", code))


def main() -> int:
    importer = TrainingDataImporter.load_from_config(
        str(ROOT / "config.yml"), str(ROOT / "domain.yml"), [str(ROOT / "data")])
    domain = importer.get_domain()
    form_questions = {f"utter_ask_{slot}" for form in domain.forms.values()
                      for slot in form.get("required_slots", [])}
    from_actions = referenced_responses()
    prefixes = {name for name in from_actions if name.endswith("_")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validate_files(fail_on_warnings=False, max_history=None, importer=importer)
        except SystemExit as exit_:
            if exit_.code:
                return int(exit_.code)
    problems = []
    for warning in caught:
        text = str(warning.message)
        if warning.category is not UserWarning:
            continue
        unused = UNUSED_RESPONSE.search(text)
        if unused and (unused.group(1) in from_actions | form_questions
                       or any(unused.group(1).startswith(p) for p in prefixes)):
            continue
        if EXTERNAL_INTENT.search(text) or PAYLOAD_INTENTS.search(text):
            continue
        problems.append(text)
    for text in problems:
        print(f"WARNING: {text}", file=sys.stderr)
    print(f"validation: {len(problems)} warning(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
