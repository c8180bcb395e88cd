"""Cap the text the NLU pipeline reads, so a 10,000-character paste costs what 2,000 do.

Why: tokenizing, featurizing (char n-grams grow with length) and DIET's transformer all
scale with the text, and a pasted contract or a spam wall would otherwise cost one
customer's message hundreds of milliseconds on a shared server. The intent of a very
long message is not reliably readable anyway; InputGuard answers it with ``too_long``.

Where it sits: registered as a MESSAGE_TOKENIZER and listed FIRST in the pipeline. The
default recipe chains NLU components in the order of config.yml; tokenizer/featurizer
types also run on training data (``process_training_data``) and in the end-to-end
featurization of Core, so the same cut applies everywhere. An ENTITY_EXTRACTOR or
INTENT_CLASSIFIER type would only run at inference, after nothing. It is not a subclass of
rasa's ``Tokenizer`` (it sets no tokens), so Rasa's "only one tokenizer" check is not
tripped.

What is kept: the first ``max_chars`` characters, cut back to the last whitespace if
that is close, so no half word is featurized. It is a prefix, so every entity offset
computed downstream is also valid in the original text. The original length goes to
``msgops_original_length`` (and the original string to ``msgops_original_text``, not
copied, just referenced) so InputGuard can report ``too_long`` and put the full text back
into the parse result.

What Rasa keeps (checked in rasa 3.6.21, rasa/core/processor.py and
rasa/shared/core/events.py):

* ``MessageProcessor._handle_message_with_tracker`` logs
  ``UserUttered(message.text, parse_data["intent"], parse_data["entities"], parse_data)``
  where ``message`` is the channel's ``UserMessage``. The NLU graph works on a separate
  ``Message`` built by ``NLUMessageConverter`` from ``UserMessage.text``, so trimming that
  ``Message`` never touches ``UserUttered.text``: the tracker store, ``tracker.events``
  and slot mappings of type ``from_text`` (``tracker.latest_message.text``) keep the
  customer's full text.
* But ``UserUttered.__init__`` does ``self.parse_data.update(**parse_data)``, and the
  parse data's ``text`` comes from the NLU ``Message`` (``TEXT`` is always an output
  property). So ``UserUttered.parse_data["text"]``, ``/model/parse`` answers and the
  action server's ``tracker.latest_message["text"]`` (built from ``parse_data`` by
  ``DialogueStateTracker._latest_message_data``) would hold the trimmed text. InputGuard,
  the last NLU component, therefore restores ``TEXT`` from ``msgops_original_text``; without
  the guard in the pipeline only ``UserUttered.text`` is guaranteed to be complete.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from msgops.nlu import speedups

# Rasa imports this module while reading the model's graph, before loading DIET and TED.
speedups.install()

ORIGINAL_LENGTH = "msgops_original_length"
ORIGINAL_TEXT = "msgops_original_text"
DEFAULT_MAX_CHARS = 2000


def trim_text(text: str, max_chars: int) -> str:
    """A prefix of ``text`` of at most ``max_chars``, preferably ending at a word boundary."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if space >= max_chars * 0.9:
        cut = cut[:space]
    return cut


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class LongMessageTrimmer(GraphComponent):
    """Trims ``TEXT`` to ``max_chars`` and remembers the original (see module doc)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``max_chars``: keep it equal to InputGuard's ``max_chars``."""
        return {"max_chars": DEFAULT_MAX_CHARS}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.max_chars = int(config.get("max_chars", DEFAULT_MAX_CHARS))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LongMessageTrimmer:
        """Creates the component (nothing to load)."""
        return cls({**cls.get_default_config(), **config})

    def _trim(self, message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str):
            return
        if message.get(ORIGINAL_LENGTH) is None:
            message.set(ORIGINAL_LENGTH, len(text), add_to_output=True)
        if len(text) > self.max_chars:
            message.set(ORIGINAL_TEXT, text)
            message.set(TEXT, trim_text(text, self.max_chars))

    def process(self, messages: List[Message]) -> List[Message]:
        """Trims every incoming message."""
        for message in messages:
            self._trim(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Trims training examples the same way, so training and inference agree."""
        for example in training_data.training_examples:
            self._trim(example)
        return training_data
