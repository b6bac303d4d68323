"""Scale-out behind nginx: docs/deploy/nginx.conf, run by Debian's nginx in front of two
daphne processes (with --proxy-headers), two Celery workers and beat, on a database of
their own and a private Redis, with DEBUG off and TLS at nginx, as in production.

Checked through nginx only: the config passes `nginx -t`; /healthz answers over HTTPS
and plain HTTP, other plain-HTTP requests are redirected to HTTPS; a page loads over
HTTPS without a redirect (X-Forwarded-Proto reaches Django); a static file comes from
STATIC_ROOT by nginx itself (daphne never sees it) with its cache header; nothing is
served from /media/; the client's address reaches daphne as X-Forwarded-For, and an
address the client forged in that header does not. Then chats are escalated through
the bot API, offered and accepted over /ws/agent/, and customers and CSRs chat over
/ws/customer/ and /ws/chat/ (the fault test's clients, tests/reliability/fault_chat.py)
while one daphne is killed (SIGKILL): every client reconnects through nginx to the
survivor and resumes by seq, and at the end both sides of every chat hold exactly the
database's messages — nothing lost, duplicated or reordered.
"""

import asyncio
import contextlib
import datetime
import http.client
import ipaddress
import json
import os
import pwd
import re
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.bench import stack as bench_stack
from tests.bench.chat_clients import ChatClient, ChatStats
from tests.reliability.fault_chat import Conversation, compare
from tests.reliability.portal_process import ROOT, Socket, own_database
from tests.reliability.redis_server import RedisProcess

NGINX = Path("/usr/sbin/nginx")
CONFIG = ROOT / "docs" / "deploy" / "nginx.conf"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not NGINX.is_file(),
        reason="/usr/sbin/nginx is missing: install Debian's nginx (apt-get install nginx)",
    ),
]

CSRS = 8
CONVERSATIONS = 16
MESSAGES = 20  # per side
INTERVAL = 0.25  # seconds between one side's sends
KILL_AFTER = 2.0  # seconds of traffic before daphne is killed
TRAFFIC_TIMEOUT = 60.0
FRAME_TIMEOUT = 20.0

SETUP = """
import json, os
from django.contrib.auth.models import Group, User
from django.test import Client
from chat.models import Channel, ChannelKind
from chat.services.bot_clients import bot_client_create
from config.users import Role
from routing.models import CSRProfile, Queue, QueueMembership
from routing.services.presence import csr_status_set

queue = Queue.objects.create(name="Scale-out", slug="scaleout")
channel = Channel.objects.create(
    name="Scale-out web", slug="scaleout-web", kind=ChannelKind.WEB_MESSAGING,
    default_queue=queue,
)
cookies = []
for n in range(int(os.environ["SCALEOUT_CSRS"])):
    csr = User.objects.create(username=f"csr{n}", first_name="CSR", last_name=str(n))
    csr.groups.add(Group.objects.get_or_create(name=Role.CSR.value)[0])
    QueueMembership.objects.create(user=csr, queue=queue, joined=True)
    csr_status_set(user=csr, status="available")
    CSRProfile.objects.filter(user=csr).update(capacity=4)
    browser = Client()
    browser.force_login(csr)
    cookies.append(f"sessionid={browser.cookies['sessionid'].value}")
_, token = bot_client_create(name="Scale-out bot", channels=[channel])
print(json.dumps({"bot_token": token, "cookies": cookies}))
"""

STORED = """
import json, os
from chat.models import Message
ids = json.loads(os.environ["SCALEOUT_INTERACTIONS"])
rows = Message.objects.filter(interaction_id__in=ids).order_by("interaction_id", "seq")
print(json.dumps([
    [m.interaction_id, m.seq, m.sender_kind, m.text, m.client_msg_id] for m in rows
]))
"""

# The shipped file's own values, and what the test puts in their place.
MAIN_CONFIG = """
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/portal.conf;
}}
"""


def render(*, daphne_ports: list[int], http_port: int, https_port: int, tls: Path, static: Path):
    """docs/deploy/nginx.conf with the test's ports, certificate and STATIC_ROOT."""
    text = CONFIG.read_text()
    replacements = {
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{daphne_ports[0]} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{daphne_ports[1]} ",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "/etc/ssl/certs/portal.example.com.pem": str(tls / "cert.pem"),
        "/etc/ssl/private/portal.example.com.key": str(tls / "key.pem"),
        "/srv/portal/staticfiles/": f"{static}/",
    }
    for old, new in replacements.items():
        assert old in text, f"docs/deploy/nginx.conf no longer has {old!r}: update the test"
        text = text.replace(old, new)
    return text


def certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem in `directory`), made
    with `cryptography` (installed with daphne's autobahn)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory


class Nginx(contextlib.AbstractContextManager):
    """nginx in the foreground (`daemon off`) under a temporary prefix: its pid file,
    logs and temp files there, nothing under /etc or /var."""

    def __init__(self, prefix: Path, site: str) -> None:
        self.prefix = prefix
        prefix.mkdir()
        (prefix / "portal.conf").write_text(site)
        # Run as root (CI), nginx's workers would switch to `nobody`, who may not read
        # the test's temporary directories.
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        self.config = prefix / "nginx.conf"
        self.config.write_text(MAIN_CONFIG.format(user=user, prefix=prefix))
        self.process: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        return [str(NGINX), "-p", str(self.prefix), "-c", str(self.config), *extra]

    def test_config(self) -> str:
        done = subprocess.run(self.command("-t"), capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def __enter__(self) -> "Nginx":
        self.process = subprocess.Popen(
            self.command("-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "stderr.log").open("w"),
            start_new_session=True,
        )
        return self

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(errors="replace")

    def __exit__(self, *exc_info: Any) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish and exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def manage(env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env={**bench_stack.bench_environment(**env)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shell_json(env: dict[str, str], code: str) -> Any:
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


class Client:
    """HTTP(S) requests to nginx, trusting the test's certificate, never redirected."""

    def __init__(self, https_port: int, http_port: int, tls: Path) -> None:
        self.https = f"https://127.0.0.1:{https_port}"
        self.http = f"http://127.0.0.1:{http_port}"
        self.https_port = https_port
        self.context = ssl.create_default_context(cafile=str(tls / "cert.pem"))

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self.context),
            NoRedirect(),
        )

    def get(self, url: str, headers: dict[str, str] | None = None):
        return self.request("GET", url, headers=headers)

    def request(self, method: str, url: str, body: Any = None, headers: dict | None = None):
        """(status, headers, body bytes)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with self.opener.open(request, timeout=30) as reply:
                return reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def get_from(self, source: str, path: str, headers: dict[str, str]) -> int:
        """GET over HTTPS from the local address `source` (127.0.0.0/8 is all loopback)."""
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, context=self.context, source_address=(source, 0)
        )
        try:
            connection.request("GET", path, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()


def escalation(n: int) -> dict[str, Any]:
    return {
        "channel": "scaleout-web",
        "intent": "billing.refund",
        "customer": {"external_id": f"scaleout-{n}-{uuid.uuid4().hex[:6]}", "name": f"Cu {n}"},
        "transcript": [{"from": "customer", "text": "My card was charged twice."}],
    }


async def escalate_and_accept(
    client: Client, bot_token: str, cookies: list[str]
) -> list[dict[str, Any]]:
    """CONVERSATIONS chats escalated through nginx, each offered to a CSR's /ws/agent/
    socket (through nginx) and accepted. One dict per chat, as fault_chat expects."""
    origin = ("Origin", client.https)
    agents = [
        Socket(f"agent{n}", f"wss://127.0.0.1:{client.https_port}/ws/agent/", [])
        for n in range(len(cookies))
    ]
    try:
        for agent, cookie in zip(agents, cookies, strict=True):
            agent.headers = [origin, ("Cookie", cookie)]
            await agent.open()
            await agent.wait_type("state", timeout=FRAME_TIMEOUT)
        chats: dict[int, dict[str, Any]] = {}
        for n in range(CONVERSATIONS):
            status, _, raw = await asyncio.to_thread(
                client.request,
                "POST",
                f"{client.https}/api/v1/escalations/",
                escalation(n),
                {"Authorization": f"Bearer {bot_token}"},
            )
            assert status == 201, (status, raw)
            reply = json.loads(raw)
            chats[reply["id"]] = {
                "interaction_id": reply["id"],
                "customer_token": reply["customer_token"],
            }
        accepted: set[int] = set()
        deadline = time.monotonic() + 60
        seen = [0] * len(agents)
        while len(accepted) < len(chats):
            assert time.monotonic() < deadline, f"accepted {len(accepted)}/{len(chats)}"
            for index, (agent, cookie) in enumerate(zip(agents, cookies, strict=True)):
                for frame in agent.frames[seen[index] :]:
                    if frame["type"] == "offer" and frame["interaction_id"] in chats:
                        await agent.send(type="accept", offer_id=frame["offer_id"])
                    elif frame["type"] == "accepted" and frame["interaction_id"] in chats:
                        chats[frame["interaction_id"]]["csr_cookie"] = cookie
                        accepted.add(frame["interaction_id"])
                seen[index] = len(agent.frames)
            await asyncio.sleep(0.05)
        return list(chats.values())
    finally:
        for agent in agents:
            await agent.close()


async def chat_through_a_crash(
    stack: bench_stack.Stack, client: Client, chats: list[dict[str, Any]]
) -> dict[str, Any]:
    """Both sides of every chat send MESSAGES messages; daphne 0 is killed on the way."""
    stats = ChatStats()
    base = f"wss://127.0.0.1:{client.https_port}"
    conversations = [Conversation(chat, base, MESSAGES, INTERVAL, stats) for chat in chats]
    clients = [c for conv in conversations for c in conv.clients]
    deadline = time.monotonic() + TRAFFIC_TIMEOUT
    running = asyncio.gather(*(conv.run(deadline) for conv in conversations))
    await asyncio.sleep(KILL_AFTER)
    connected = sum(1 for c in clients if c.ready.is_set())
    old = {id(c): c.ws for c in clients}
    await asyncio.to_thread(stack.kill_daphne, stack.ports[0])
    killed = time.monotonic()

    def dropped() -> list[ChatClient]:
        return [c for c in clients if old[id(c)] is None or old[id(c)].close_code is not None]

    # The kernel resets the dead process's connections at once, and nginx then closes
    # the clients' ones: wait for the first, and a moment for the rest.
    while not dropped() and time.monotonic() - killed < FRAME_TIMEOUT:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    lost = dropped()
    # Until each of them holds a new socket again, through nginx, on the survivor.
    while time.monotonic() - killed < FRAME_TIMEOUT and not all(
        c.ws is not None and c.ws is not old[id(c)] and c.ready.is_set()
        for c in lost
        if not c.finish.is_set()
    ):
        await asyncio.sleep(0.02)
    back_after = time.monotonic() - killed
    await running
    return {
        "conversations": conversations,
        "stats": stats,
        "connected_at_kill": connected,
        "dropped": len(lost),
        "all_back_after": back_after,
    }


def daphne_logs(logs: Path) -> str:
    return "\n".join(path.read_text(errors="replace") for path in logs.glob("daphne*.log"))


def test_two_daphnes_behind_nginx_lose_nothing_when_one_is_killed(tmp_path, monkeypatch):
    """Through nginx, a killed daphne costs the chats nothing: every client reconnects
    to the other one and both sides end up with exactly the stored messages."""
    tls = certificate(tmp_path / "tls")
    static = tmp_path / "static"
    logs = tmp_path / "logs"
    with own_database(tmp_path) as database_url, RedisProcess(log=tmp_path / "redis.log") as redis:
        redis.start()
        monkeypatch.setattr(bench_stack, "BENCH_REDIS_URL", redis.url)
        monkeypatch.setenv("SSL_CERT_FILE", str(tls / "cert.pem"))  # the sockets' TLS
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "DEBUG": "false",
            "SECRET_KEY": "scaleout-test-" + secrets.token_hex(24),
            "ALLOWED_HOSTS": "127.0.0.1",
            "TRUST_X_FORWARDED_PROTO": "true",
            "TRUST_X_FORWARDED_FOR": "true",
            "STATIC_ROOT": str(static),
            "PORTAL_VAR_DIR": str(tmp_path / "var"),
            "CHANNEL_LAYER_PREFIX": "scaleout",
            "CACHE_KEY_PREFIX": "scaleout",
            # The CSRs' agent tabs close once their chats are accepted: keep them
            # Available with their chats through the test.
            "PRESENCE_GRACE_SECONDS": "600",
            "ACTIVE_CHAT_GRACE_SECONDS": "600",
        }
        manage(env, "migrate", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        setup = shell_json({**env, "SCALEOUT_CSRS": str(CSRS)}, SETUP)

        old_sigterm = signal.getsignal(signal.SIGTERM)
        stack = bench_stack.Stack(
            workers=1,
            worker_processes=2,
            daphne_processes=2,
            daphne_args=["--proxy-headers"],
            env=env,
            logs=logs,
        )
        http_port, https_port = bench_stack.free_port(), bench_stack.free_port()
        site = render(
            daphne_ports=stack.ports,
            http_port=http_port,
            https_port=https_port,
            tls=tls,
            static=static,
        )
        nginx = Nginx(tmp_path / "nginx", site)
        assert "syntax is ok" in nginx.test_config()
        try:
            with stack, nginx:
                bench_stack.wait_port(https_port)
                client = Client(https_port, http_port, tls)
                check_http(client, static, logs, setup["cookies"][0])
                chats = asyncio.run(
                    escalate_and_accept(client, setup["bot_token"], setup["cookies"])
                )
                run = asyncio.run(chat_through_a_crash(stack, client, chats))
                error_log = nginx.error_log()
        finally:
            signal.signal(signal.SIGTERM, old_sigterm)
        ids = [chat["interaction_id"] for chat in chats]
        rows = shell_json({**env, "SCALEOUT_INTERACTIONS": json.dumps(ids)}, STORED)

    stats = run["stats"]
    problems, counts = compare(run["conversations"], [tuple(row) for row in rows])
    sockets = 2 * CONVERSATIONS
    print(
        f"\nnginx scale-out: {CONVERSATIONS} chats x 2 sides x {MESSAGES} messages, "
        f"daphne :{stack.ports[0]} killed after {KILL_AFTER:.0f} s\n"
        f"  sockets ready at the kill   {run['connected_at_kill']}/{sockets}\n"
        f"  sockets dropped by the kill {run['dropped']}\n"
        f"  all back (through nginx)    {run['all_back_after']:.2f} s after the kill\n"
        f"  connects / reconnects       {stats.connects} / {stats.reconnects} "
        f"(failed attempts {stats.connect_failures})\n"
        f"  retried sends (duplicates)  {stats.retried_sends} ({stats.duplicate_acks})\n"
        f"  sent / stored               {counts['sent']} / {counts['stored']}\n"
        f"  gaps filled / dups dropped  {stats.gaps} / {stats.duplicates_dropped}\n"
        f"  nginx: refused by the dead  {error_log.count('Connection refused')}"
    )
    assert not problems, problems[:20]
    assert not stats.fatal, stats.fatal
    assert counts["sent"] == counts["stored"] == sockets * MESSAGES
    assert run["connected_at_kill"] == sockets, "not every socket was open at the kill"
    # Every socket on the killed daphne came back, through nginx, on the survivor.
    assert 0 < run["dropped"] <= stats.reconnects
    assert run["all_back_after"] < FRAME_TIMEOUT
    survivor = (logs / "daphne-1.log").read_text(errors="replace")
    assert survivor.count("WSCONNECT /ws/") >= sockets, "the survivor did not take the sockets"


def check_http(client: Client, static: Path, logs: Path, cookie: str) -> None:
    """Health checks, the HTTPS redirect, a page, a static file, no media, and the
    client's address as daphne sees it — all through nginx."""
    status, _, body = client.get(f"{client.https}/healthz")
    assert status == 200 and json.loads(body)["ok"] is True, (status, body)
    status, _, body = client.get(f"{client.http}/healthz")
    assert status == 200, (status, body)
    status, headers, _ = client.get(f"{client.http}/")
    assert status == 301 and headers["Location"].startswith("https://127.0.0.1"), status

    # A page over HTTPS: no redirect to HTTPS (Django trusts X-Forwarded-Proto).
    status, headers, body = client.get(f"{client.https}/", headers={"Cookie": cookie})
    assert status == 200, (status, headers.get("Location"))
    assert b"<html" in body.lower()

    # A static file with a hashed name, from STATIC_ROOT, by nginx alone.
    manifest = json.loads((static / "staticfiles.json").read_text())["paths"]
    hashed = manifest["portal/js/chat-panel.js"]
    before = daphne_logs(logs).count("/static/")
    status, headers, body = client.get(f"{client.https}/static/{hashed}")
    assert status == 200, status
    assert body == (static / hashed).read_bytes()
    assert "immutable" in headers["Cache-Control"], headers["Cache-Control"]
    status, headers, _ = client.get(f"{client.https}/static/portal/js/chat-panel.js")
    assert status == 200 and headers["Cache-Control"] == "max-age=60", headers["Cache-Control"]
    assert daphne_logs(logs).count("/static/") == before, "daphne served a static file"

    # Nothing is served from MEDIA_ROOT.
    status, _, _ = client.get(f"{client.https}/media/attachments/anything.png")
    assert status == 404, status

    # The client's address reaches daphne; a forged X-Forwarded-For does not.
    forged = "203.0.113.9"
    assert client.get_from("127.0.0.2", "/healthz", {"X-Forwarded-For": forged}) == 200
    deadline = time.monotonic() + 5
    while "127.0.0.2:" not in daphne_logs(logs) and time.monotonic() < deadline:
        time.sleep(0.1)
    access = daphne_logs(logs)
    assert re.search(r"^127\.0\.0\.2:\d+ - - .*\"GET /healthz\" 200", access, re.M), access[-2000:]
    assert forged not in access
