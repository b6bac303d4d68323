"""A private redis-server that a test may kill and start again on the same port, and
channel-layer settings pointing at it. Never the machine's shared Redis: other test
runs use that one."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from config.localredis import free_port, redis_answers, redis_server_binary

START_TIMEOUT_SECONDS = 15.0
# How long a socket may take to subscribe again once Redis is back: its retries back off
# to config.sockets.LIVE_RETRY_MAX_SECONDS, well within this.
OUTAGE_SECONDS = 15

LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}


class RedisProcess(contextlib.AbstractContextManager):
    """redis-server on 127.0.0.1:`port` (a free one by default), without persistence: a
    restart forgets everything, as after a crash. Not started until start()."""

    def __init__(self, port: int | None = None, *, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--maxclients", "10000"]
        if self.log is not None:
            command += ["--logfile", str(self.log)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not redis_answers(self.url, timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop it the hard way (SIGKILL, like a crash) and wait until it is gone."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        process.wait(timeout=15)

    def __exit__(self, *exc_info: Any) -> None:
        self.kill(signal.SIGTERM)


def layer_settings(backend: str, url: str, prefix: str) -> dict[str, Any]:
    """CHANNEL_LAYERS for one of the two channels_redis layers at `url`, configured as
    config/settings.py configures them."""
    config: dict[str, Any] = {
        # No read timeout: redis-py 8's 5 s would end idle core-layer sockets (trap).
        "hosts": [{"address": url, "socket_timeout": None}],
        "prefix": prefix,
    }
    return {"default": {"BACKEND": LAYER_BACKENDS[backend], "CONFIG": config}}
