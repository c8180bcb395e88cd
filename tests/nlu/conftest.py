"""Build our graph components the way Rasa does: ``create(config, model_storage, resource,
execution_context)`` with a local model storage, as rasa's own component tests do."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Type

import pytest

NOW = "2026-12-03T22:40:00+03:00"  # a Thursday evening in Moscow


@pytest.fixture(scope="session")
def model_storage(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    path: Path = tmp_path_factory.mktemp("model_storage")
    return LocalModelStorage(path)


@pytest.fixture(scope="session")
def execution_context() -> Any:
    from rasa.engine.graph import ExecutionContext, GraphSchema

    return ExecutionContext(GraphSchema({}), "msgops-nlu-tests")


@pytest.fixture(scope="session")
def make(model_storage: Any, execution_context: Any) -> Callable[..., Any]:
    """``make(Component, {"key": value})`` -> a component built through ``create``."""
    from rasa.engine.storage.resource import Resource

    def _make(cls: Type[Any], config: Optional[Dict[str, Any]] = None) -> Any:
        full = {**cls.get_default_config(), **(config or {})}
        return cls.create(full, model_storage, Resource(cls.__name__), execution_context)

    return _make


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test reads "now" as Thursday 2026-12-03 22:40 Moscow time."""
    monkeypatch.setenv("MSGOPS_NOW", NOW)
    return NOW


def message(text: str, **data: Any) -> Any:
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={"text": text, **data})


def entities_of(msg: Any, entity: Optional[str] = None) -> list:
    ents = msg.get("entities", [])
    return [e for e in ents if entity is None or e["entity"] == entity]
