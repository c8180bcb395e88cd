"""How fast a connector answers its webhook while the bot is slow.

Starts the WhatsApp connector in a real Sanic app on 127.0.0.1 with a fake bot whose turns take
``--turn-ms`` (200 ms by default) and a local stand-in for the Graph API, posts ``--n`` signed
webhooks (each a new message from one of ``--senders`` customers, ``--concurrency`` at a time),
at ``--rate`` per second, and prints p50/p95/p99 of the time until the webhook was answered,
then waits for every turn and checks each message got exactly one reply.

    .venv/bin/python bench/webhook_latency.py --n 500 --rate 100
    .venv/bin/python bench/webhook_latency.py --n 500 --rate 0 --concurrency 20   # saturation

With ``--rate 0`` the webhooks arrive as fast as the server answers them, so the numbers then
include queueing behind the background turns (a throughput test, not a latency one).

The platforms want an answer within seconds and retry (and eventually disable the webhook)
otherwise; the connectors answer before the turn runs, so these numbers should stay in the
low milliseconds whatever ``--turn-ms`` is. Uses a throwaway SQLite store unless MSGOPS_DB_URL
is set.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-app-secret"


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def _percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[index]


async def _fake_graph() -> Any:
    from aiohttp import web

    sent: List[Dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("status") != "read":
            sent.append(body)
        return web.json_response({"messages": [{"id": f"wamid.OUT{len(sent)}"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = _socket()
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}", sent


def _payload(i: int, sender: str) -> bytes:
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000000", "phone_number_id": "200000000000001"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": f"wamid.BENCH{i}", "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": f"message {i}"}}],
        }}]}],
    }).encode()


def _serve(turn_ms: int, graph_url: str, ready: Any) -> None:
    """The server process: the connector app and the slow bot share one event loop, as the
    connector and Rasa do in production. The load generator and the Graph API stand-in (the
    outside world) run in the parent process, so their work does not count as our latency."""
    os.environ["MSGOPS_GRAPH_API_BASE"] = graph_url
    asyncio.run(_serve_async(turn_ms, ready))


async def _serve_async(turn_ms: int, ready: Any) -> None:
    from rasa.core.channels.channel import UserMessage
    from sanic import Sanic, response

    from msgops.channels.whatsapp import WhatsAppInput

    received: List[str] = []
    sent: List[str] = []

    async def slow_bot(message: UserMessage) -> None:
        received.append(message.text or "")
        await asyncio.sleep(turn_ms / 1000.0)
        await message.output_channel.send_response(message.sender_id, {"text": f"ok: {message.text}"})
        sent.append(message.text or "")

    channel = WhatsAppInput.from_credentials({
        "access_token": "bench", "app_secret": SECRET, "verify_token": "bench",
        "phone_number_id": "200000000000001",
    })
    app = Sanic("msgops_webhook_latency_bench")
    app.blueprint(channel.blueprint(slow_bot), url_prefix="/webhooks/whatsapp")
    stop = asyncio.Event()

    @app.route("/bench/finish", methods=["POST"])
    async def finish(_: Any) -> Any:
        await channel.tasks.drain(timeout=600)
        stop.set()
        return response.json({"received": len(received), "sent": len(sent)})

    sock = _socket()
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    ready.put(f"http://127.0.0.1:{sock.getsockname()[1]}")
    await stop.wait()
    await asyncio.sleep(0.1)  # let the finish answer go out
    await server.before_stop()
    await server.close()
    await server.after_stop()
    await channel.client.aclose()


async def main(n: int, concurrency: int, turn_ms: int, senders: int, rate: float) -> int:
    import multiprocessing

    import aiohttp

    from msgops.channels.meta import sign

    graph_runner, graph_url, graph_sent = await _fake_graph()
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=_serve, args=(turn_ms, graph_url, ready), daemon=True)
    server.start()
    base = await asyncio.get_running_loop().run_in_executor(None, ready.get, True, 120)
    url = f"{base}/webhooks/whatsapp/webhook"

    latencies: List[float] = []
    statuses: Dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def post(i: int) -> None:
            body = _payload(i, f"1555{i % senders:07d}")
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body)}
            if rate > 0 and i >= 0:
                await asyncio.sleep(i / rate)  # an even arrival rate, as a platform sends
            async with gate:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    latencies.append((time.perf_counter() - started) * 1000.0)
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1

        await post(-1)  # warm-up: connections, the SQLite schema
        await asyncio.sleep(0.5 + turn_ms / 1000.0)
        latencies.clear()
        statuses.clear()
        wall = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(n)))
        answered = time.perf_counter() - wall
        async with session.post(f"{base}/bench/finish") as resp:
            counts = await resp.json()
        finished = time.perf_counter() - wall
    server.join(timeout=30)
    await graph_runner.cleanup()

    pace = f"{rate:g}/s" if rate > 0 else "as fast as possible"
    print(f"webhooks: {n} at {pace} (concurrency {concurrency}, {senders} senders), bot turn {turn_ms} ms")
    print(f"HTTP statuses: {statuses}")
    print(f"webhook answer time ms: p50 {_percentile(latencies, 50):.2f}  "
          f"p95 {_percentile(latencies, 95):.2f}  p99 {_percentile(latencies, 99):.2f}  "
          f"max {max(latencies):.2f}  mean {statistics.mean(latencies):.2f}")
    print(f"all webhooks answered in {answered:.2f} s; all turns done in {finished:.2f} s")
    handed, replies = counts["received"] - 1, counts["sent"] - 1  # minus the warm-up
    print(f"messages handed to the bot: {handed}, replies sent: {replies}")
    ok = statuses.get(200) == n and replies == n and handed == n and len(graph_sent) - 1 == n
    return 0 if ok else 1


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="webhooks to post")
    parser.add_argument("--concurrency", type=int, default=10, help="webhooks in flight at once")
    parser.add_argument("--turn-ms", type=int, default=200, help="how long each bot turn takes")
    parser.add_argument("--senders", type=int, default=50, help="distinct customers")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="webhooks per second (0: as fast as --concurrency allows)")
    args = parser.parse_args()
    if not os.environ.get("MSGOPS_DB_URL"):
        tmp = tempfile.mkdtemp(prefix="msgops-bench-")
        os.environ["MSGOPS_DB_URL"] = f"sqlite:///{tmp}/bench.db"
    return asyncio.run(main(args.n, args.concurrency, args.turn_ms, args.senders, args.rate))


if __name__ == "__main__":
    raise SystemExit(cli())
