"""Baseline 1: a bare `websockets` relay. Sockets that open /room/<name> are paired by
room; every text frame is forwarded to the other sockets of the room. No JSON, no
persistence, no channel layer: the floor for a Python WebSocket relay on this machine.

Run: python tests/bench/baselines/bare_relay.py --port 8765
"""

import argparse
import asyncio
import contextlib
import signal
from collections import defaultdict

import websockets
from websockets.asyncio.server import serve

rooms: dict[str, set] = defaultdict(set)


async def handler(ws) -> None:
    room = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
    peers = rooms[room]
    peers.add(ws)
    try:
        async for frame in ws:
            for peer in list(peers):
                if peer is not ws:
                    with contextlib.suppress(websockets.ConnectionClosed):  # a closing peer
                        await peer.send(frame)
    finally:
        peers.discard(ws)
        if not peers:
            rooms.pop(room, None)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, max_queue=None):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    asyncio.run(main(parser.parse_args().port))
