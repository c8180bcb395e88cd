"""Fixtures for the web chat tests: the page server, headless Chromium.

To run the browser test against a Rasa that is already running (while developing the page),
set MSGOPS_TEST_RASA_URL (and MSGOPS_TEST_RASA_TOKEN if it has --auth-token): `servers` is
then that server instead of the ones tests/conftest.py starts.
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.web.webchat_cdp import Chromium, ensure_chromium

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    try:
        return ensure_chromium()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"headless Chromium is not available and could not be installed: {error}")


@pytest.fixture
def chromium(chromium_binary, tmp_path) -> Iterator[Chromium]:
    browser = Chromium(chromium_binary, tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


if os.environ.get("MSGOPS_TEST_RASA_URL"):

    @dataclass
    class ExternalRasa:
        rasa_url: str
        token: str = ""
        backend: str = "external"
        rasa_port: int = field(init=False)

        def __post_init__(self) -> None:
            self.rasa_url = self.rasa_url.rstrip("/")
            self.rasa_port = int(self.rasa_url.rsplit(":", 1)[1].split("/")[0])

        def tracker(self, sender: str) -> dict:
            response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                    params={"token": self.token}, timeout=30)
            response.raise_for_status()
            return response.json()

    @pytest.fixture(scope="session")
    def servers() -> ExternalRasa:  # noqa: F811 (overrides tests/conftest.py on purpose)
        return ExternalRasa(os.environ["MSGOPS_TEST_RASA_URL"],
                            os.environ.get("MSGOPS_TEST_RASA_TOKEN", ""))
