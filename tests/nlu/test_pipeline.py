"""The recommended pipeline (docs/nlu_pipeline.md) builds into a valid Rasa graph, with the
trimmer first and the guard last, at training and at inference. No training involved."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def recommended_pipeline() -> List[Dict[str, Any]]:
    doc = (ROOT / "docs" / "nlu_pipeline.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert block, "docs/nlu_pipeline.md has no yaml block"
    return yaml.safe_load(block.group(1))["pipeline"]


@pytest.fixture(scope="module")
def graph() -> Any:
    from rasa.engine import validation
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.shared.data import TrainingType

    # importing the modules registers the components with the recipe
    for module in ("truncate", "tokenizer", "language", "extractors", "guard"):
        __import__(f"msgops.nlu.{module}")
    config = {"recipe": "default.v1", "language": "ru", "pipeline": recommended_pipeline()}
    model_config = DefaultV1Recipe().graph_config_for_recipe(
        copy.deepcopy(config), {}, training_type=TrainingType.NLU
    )
    validation.validate(model_config)  # signatures, needs, required components
    return model_config


def chain(schema: Any, start: str, key: str) -> List[str]:
    """Node names in run order, following the single ``key`` need from ``start``."""
    by_input = {n.needs.get(key): name for name, n in schema.nodes.items() if key in n.needs}
    order, cur = [], start
    while cur in by_input:
        cur = by_input[cur]
        order.append(cur)
    return order


def test_prediction_runs_trimmer_first_and_guard_last(graph: Any) -> None:
    order = chain(graph.predict_schema, "nlu_message_converter", "messages")
    assert order[0].endswith("LongMessageTrimmer0")
    assert order[1].endswith("LemmatizingTokenizer1")
    assert order[-2].endswith("InputGuard11")
    assert order[-1] == "run_RegexMessageHandler"
    names = [o.split(".")[-1] for o in order]
    assert names.index("StructuredEntityExtractor9") > names.index("run_DIETClassifier6")
    assert names.index("LanguageDetector8") < names.index("StructuredEntityExtractor9")


def test_training_trims_before_tokenizing(graph: Any) -> None:
    order = chain(graph.train_schema, "nlu_training_data_provider", "training_data")
    assert order[0] == "run_msgops.nlu.truncate.LongMessageTrimmer0"
    assert order[1] == "run_msgops.nlu.tokenizer.LemmatizingTokenizer1"
    node = graph.train_schema.nodes[order[0]]
    assert node.fn == "process_training_data"


def test_trimmer_is_not_counted_as_a_second_tokenizer(graph: Any) -> None:
    from rasa.nlu.tokenizers.tokenizer import Tokenizer

    tokenizers = {
        n.uses for n in graph.predict_schema.nodes.values() if issubclass(n.uses, Tokenizer)
    }
    assert {t.__name__ for t in tokenizers} == {"LemmatizingTokenizer"}


def test_word_featurizer_reads_lemmas() -> None:
    cvf = [c for c in recommended_pipeline() if c["name"] == "CountVectorsFeaturizer"]
    assert cvf[0].get("use_lemma", True) is True
    assert cvf[1]["analyzer"] == "char_wb" and (cvf[1]["min_ngram"], cvf[1]["max_ngram"]) == (1, 4)
