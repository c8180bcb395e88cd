"""What-if experiment for bench/ only (never used by the product): Rasa with the action
server's responses validated by a cached JSON-schema validator.

Rasa 3.6 checks every action server response with ``jsonschema.validate(result, spec)``,
which first validates the (large) events schema itself against the meta-schema: ~30 ms of
CPU per custom action call on the benchmark machine, against ~1.3 ms for the same check with
a validator built once. `python -m bench.run_all --what-if-cached-validation` puts this
folder on PYTHONPATH of the servers, so Python imports this module at start-up.
"""
from __future__ import annotations

try:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    _spec = RemoteAction.action_response_format_spec()
    _validator = validator_for(_spec)(_spec)

    def _validate_action_result(self, result):  # type: ignore[no-untyped-def]
        try:
            _validator.validate(result)
            return True
        except ValidationError as e:
            e.message += ". Failed to validate Action server response from API."
            raise e

    RemoteAction._validate_action_result = _validate_action_result
except Exception:  # noqa: BLE001 - an experiment must never stop a process from starting
    pass
