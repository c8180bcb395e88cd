"""When the action server is down the customer still hears what happens next, and the
message is kept (DESIGN: nothing a customer said is lost)."""
from __future__ import annotations

import pytest

from msgops.harness import LocalServers, write_business_file
from tests.conftest import running

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def rasa_without_actions(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("no-actions")
    servers = LocalServers(workdir, f"sqlite:///{workdir / 'msgops.db'}", write_business_file(workdir))
    with running(servers, with_actions=False) as started:
        yield started


def test_price_question_with_the_action_server_down(rasa_without_actions):
    s = rasa_without_actions
    replies = s.say("down-1", "Сколько стоит генеральная уборка?")
    text = "\n".join(r.get("text", "") for r in replies)
    assert "сохранено" in text and "менеджер" in text.lower(), replies
    events = s.tracker("down-1")["events"]
    assert any(e["event"] == "user" and e.get("text") == "Сколько стоит генеральная уборка?" for e in events)


def test_replies_that_need_no_action_server_still_work(rasa_without_actions):
    replies = rasa_without_actions.say("down-2", "hello there")
    assert any("assistant" in r.get("text", "") for r in replies), replies
