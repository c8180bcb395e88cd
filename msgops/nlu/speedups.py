"""Two costs Rasa 3.6 pays for nothing, removed with the same results.

1. Loading a model. Rasa 3.6 builds a loaded DIET/TED model's weights by running one training step in graph
mode, which makes TensorFlow trace the whole training graph (forward and backward) only to
throw it away: about 100 s of a 2-core machine's time per server start. Building the
weights eagerly gives the same variables (they are overwritten from the saved weights right
after), so we do that and then compile again with the configured mode, so predictions still
run as a traced `tf.function` (25 ms per message instead of 150 ms eagerly).

2. Checking each action server response. Rasa validates it with `jsonschema.validate`,
which first checks the (large) response schema itself against the JSON-Schema meta-schema:
~30 ms of CPU per custom action call on 2 cores, several calls per form turn. A validator
built once for the same schema gives the same verdict (and error) in ~1 ms.

Installed when Rasa imports our first pipeline component (msgops.nlu.truncate), which
happens while the model's graph schema is read, before any model is loaded.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

log = logging.getLogger(__name__)
_installed = False


def _load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Optional[Any] = None,
          finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    learning_rate = config.get(LEARNING_RATE, 0.001)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.load_weights(model_file_name)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=config.get(RUN_EAGERLY))
    if not finetune_mode and predict_data_example:
        model.run_inference(predict_data_example)  # traces the prediction graph once, now
    return model


def _cached_response_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    validator = validator_for(spec)(spec)
    original = RemoteAction._validate_action_result

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError:
            return original(self, result)  # Rasa's own wording of the error

    RemoteAction._validate_action_result = _validate_action_result


def install() -> None:
    """Apply both (the same steps as Rasa's, minus the waste); idempotent."""
    global _installed
    if _installed:
        return
    import rasa
    from rasa.utils.tensorflow.models import RasaModel

    if not rasa.__version__.startswith("3.6."):
        log.warning("msgops speed-ups are written for Rasa 3.6, not %s: left off", rasa.__version__)
        return
    RasaModel.load = classmethod(_load)
    _cached_response_validation()
    _installed = True
