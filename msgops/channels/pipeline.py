"""What every connector does with a verified webhook, after it has answered the platform.

The webhook handler only verifies the request, parses it into ``Inbound`` items and hands them
to ``ChannelPipeline.accept``, which starts a background task and returns; the platform gets its
200 within milliseconds, however long the turn takes (Meta and Telegram redeliver, and
eventually disable, webhooks that answer slowly). The task then, for each item in order:

1. logs and drops platform bookkeeping (statuses, reactions, echoes...);
2. drops a redelivery (``ProcessedDelivery``, shared by all servers);
3. records when the customer wrote (``ChannelPresence``, for the 24-hour windows);
4. acknowledges on the platform (read receipt, callback answer) without waiting for it;
5. answers something unreadable politely, itself, without NLU;
6. maps a bare number answering a numbered menu back to the button payload;
7. hands the ``UserMessage`` to Rasa, through the project's reply guarantee
   (``reply_guard``): a turn that sent nothing still gets ``utter_store_unavailable``.

The items of one webhook are processed one after another, so a batch of two messages from the
same person is answered in order.
"""
from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Set

from rasa.core.channels.channel import UserMessage

from msgops.channels import conversation, render, state
from msgops.channels.inbound import IGNORED, UNSUPPORTED, Inbound, polite_unsupported_text
from msgops.channels.outbound import ChannelOutput
from msgops.channels.reply_guard import guard_replies

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

_heap_frozen = False


def freeze_startup_heap() -> bool:
    """Move everything alive after start-up (Rasa, the loaded model, Sanic) out of the garbage
    collector's reach, once per process; True if it did it now.

    A full (generation 2) collection walks every tracked object: ~100 ms with the 150k objects
    of the connector's imports alone, more with a model loaded, and it runs on the event loop
    thread whenever enough objects survived, which stalled webhook answers (p99 of 100-250 ms
    in ``bench/webhook_latency.py``). After ``gc.freeze`` it only walks what was created since:
    well under 1 ms. The frozen start-up objects live as long as the process anyway.
    """
    global _heap_frozen
    if _heap_frozen:
        return False
    _heap_frozen = True
    gc.collect()
    gc.freeze()
    logger.debug("froze %d start-up objects out of the garbage collector", gc.get_freeze_count())
    return True


class TaskKeeper:
    """Background tasks with a strong reference until they finish.

    The event loop keeps only weak references to tasks, so a fire-and-forget task can be
    garbage-collected mid-turn; and an exception in one would otherwise be reported only as
    "Task exception was never retrieved". Both are handled here.
    """

    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until no task is left (tests, benchmarks and graceful shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"{len(self._tasks)} background task(s) still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)


class ChannelPipeline:
    """Mixin for the connectors' ``InputChannel`` classes (see the module docstring)."""

    #: key of ``render.RENDERERS`` for this channel
    platform: str = ""

    @property
    def tasks(self) -> TaskKeeper:
        keeper = self.__dict__.get("_task_keeper")
        if keeper is None:
            keeper = self.__dict__["_task_keeper"] = TaskKeeper()
        return keeper

    def finish_on_stop(self, blueprint: Any, timeout: float = 10.0) -> None:
        """Let running turns finish (up to ``timeout``) when the server stops, so a deploy or
        restart does not drop messages the platform was already told we received; and once
        the server has started (Rasa's model is loaded before), ``freeze_startup_heap``."""

        @blueprint.listener("after_server_start")
        async def _freeze(_app: Any, _loop: Any) -> None:
            freeze_startup_heap()

        @blueprint.listener("before_server_stop")
        async def _drain(_app: Any, _loop: Any) -> None:
            try:
                await self.tasks.drain(timeout)
            except asyncio.TimeoutError as exc:
                logger.warning("%s: stopping with turns still running: %s", self.name(), exc)  # type: ignore[attr-defined]

    # -- hooks -----------------------------------------------------------------------------

    def output_for(self, inbound: Inbound) -> ChannelOutput:
        """The output channel for the turn this inbound message starts."""
        raise NotImplementedError

    async def acknowledge(self, inbound: Inbound, output: ChannelOutput) -> None:
        """Tell the platform we got it (read receipt, callback answer); default: nothing."""

    def log_ignored(self, inbound: Inbound) -> None:
        logger.debug("%s: ignored %s %s", self.name(), inbound.reason, inbound.metadata or "")  # type: ignore[attr-defined]

    # -- the pipeline ------------------------------------------------------------------------

    def accept(self, app: Any, items: List[Inbound], on_new_message: OnNewMessage) -> None:
        """Process ``items`` in the background; returns at once.

        Webhooks for the same sender are processed in the order they arrived at this server:
        each waits for the previous one of any of its senders. (Rasa's lock store serialises
        turns of a conversation anyway; this keeps their order too, which the thread-pool
        store calls before the turn would otherwise shuffle.)
        """
        if not items:
            return
        senders = {i.sender_id for i in items if i.kind != IGNORED and i.sender_id}
        tails: Dict[str, asyncio.Task] = self.__dict__.setdefault("_sender_tails", {})
        previous = [tails[s] for s in senders if s in tails]
        task = self.tasks.spawn(
            self._after(previous, self.process_batch(app, items, on_new_message)),
            name=f"{self.name()}-webhook",  # type: ignore[attr-defined]
        )
        for sender in senders:
            tails[sender] = task

        def forget(done: asyncio.Task) -> None:
            for sender in senders:
                if tails.get(sender) is done:
                    del tails[sender]

        task.add_done_callback(forget)

    @staticmethod
    async def _after(previous: List[asyncio.Task], coro: Coroutine[Any, Any, Any]) -> Any:
        if previous:
            await asyncio.wait(previous)
        return await coro

    async def process_batch(self, app: Any, items: List[Inbound], on_new_message: OnNewMessage) -> None:
        # The project's reply guarantee (msgops.channels.reply_guard, shared with the web chat):
        # a turn that sent nothing (action server or store down) still gets an answer.
        on_new_message = guard_replies(on_new_message, lambda: app)
        for item in items:
            try:
                await self.process_one(app, item, on_new_message)
            except Exception:  # noqa: BLE001 - one bad item must not stop the rest of the batch
                logger.exception(
                    "%s: failed to handle message %s from %s",
                    self.name(), item.message_id, item.sender_id,  # type: ignore[attr-defined]
                )

    async def process_one(self, app: Any, item: Inbound, on_new_message: OnNewMessage) -> None:
        channel = self.name()  # type: ignore[attr-defined]
        if item.kind == IGNORED:
            self.log_ignored(item)
            return
        if not item.sender_id:
            logger.warning("%s: message %s without a sender dropped", channel, item.message_id)
            return
        dedup_id = item.dedup_key_id
        if not await state.run_sync(state.record_inbound, channel, dedup_id, item.sender_id, item.sent_at,
                                    item.metadata.get("phone")):
            logger.info("%s: duplicate delivery of %s dropped", channel, dedup_id)
            return
        output = self.output_for(item)
        self.tasks.spawn(self._acknowledge_safely(item, output), name=f"{channel}-ack")

        if item.kind == UNSUPPORTED:
            language = await self._language(app, item)
            logger.info("%s: unsupported %s from %s answered politely", channel, item.reason, item.sender_id)
            await output.send_response(item.sender_id, {"text": polite_unsupported_text(language)})
            return

        text = item.text or ""
        payload = await self._numbered_answer(app, item)
        if payload is not None:
            item.metadata["numbered_answer"] = text
            text = payload
        await on_new_message(
            UserMessage(
                text,
                output,
                item.sender_id,
                input_channel=channel,
                message_id=item.message_id,
                metadata=item.metadata,
            )
        )

    async def _acknowledge_safely(self, item: Inbound, output: ChannelOutput) -> None:
        try:
            await self.acknowledge(item, output)
        except Exception:  # noqa: BLE001 - a missing read receipt is not worth a failed turn
            logger.exception("%s: acknowledging %s failed", self.name(), item.message_id)  # type: ignore[attr-defined]

    async def _language(self, app: Any, item: Inbound) -> Optional[str]:
        tracker = await conversation.load_tracker(app, item.sender_id)
        language = conversation.tracker_language(tracker)
        if language:
            return language
        hint = (item.language_hint or "")[:2].lower()
        return hint if hint in conversation.LANGUAGES else None

    async def _numbered_answer(self, app: Any, item: Inbound) -> Optional[str]:
        text = item.text or ""
        if not text.strip() or not text.strip().lstrip("№").rstrip(".)").strip().isdigit():
            return None
        tracker = await conversation.load_tracker(app, item.sender_id)
        buttons = conversation.last_bot_buttons(tracker)
        return render.resolve_numbered_answer(self.platform, text, buttons)
