"""The examples of docs/api.md and of the OpenAPI document run as written against a live
portal seeded with the demo data, and answer what the documentation says.

docs/api.md's examples follow one format, which this test reads:

- a request is a fenced `sh` block with one `curl` command (and any shell lines it needs)
  using only the variables the "Trying the examples" section names: `PORTAL`, `TOKEN`,
  `ID` and `IDENTITY_SECRET`;
- its response is the next fenced `json` (or `text`, for a downloaded file) block, and
  the documented status is the first status code span of the paragraph just above that
  block (`` `201 Created`: ``, or a heading like ``### Response — `201 Created` …``).

Each block runs in bash with real curl (curl is wrapped only to print the status after
the body). The answer must have the documented status and the documented body's shape:
the same keys at every level, lists of items shaped like the documented item, and the
same JSON types wherever both sides are not null. Examples run in the order a
conversation goes through (escalate first, end last); an example for an endpoint not in
that order fails the test until it is placed.
"""

import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from chat.identity import sign
from chat.models import Channel
from portal.services import demo_seed

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
STATUS = re.compile(r"`(\d{3})(?: [A-Za-z ]+)?`")

# The life of one escalation: each documented endpoint, in the order the examples run.
STORY = (
    ("POST", "/api/v1/escalations/"),
    ("GET", "/api/v1/escalations/{id}/"),
    ("POST", "/api/v1/escalations/{id}/attachments/"),
    ("POST", "/api/v1/escalations/{id}/messages/"),
    ("GET", "/api/v1/escalations/{id}/messages/"),
    ("POST", "/api/v1/escalations/{id}/authentication/"),
    ("GET", "/api/v1/escalations/{id}/transcript/"),
    # The back office reads and updates the case a CSR opened in the chat.
    ("GET", "/api/v1/cases/"),
    ("GET", "/api/v1/cases/{reference}/"),
    ("PATCH", "/api/v1/cases/{reference}/"),
    ("POST", "/api/v1/escalations/{id}/end/"),
    # The chat ended with a CSR: the customer's answer to the satisfaction survey.
    ("POST", "/api/v1/escalations/{id}/satisfaction/"),
)

# curl prints the status code on a line of its own after the body (or after nothing,
# when -o saves the body to a file).
CURL_WRAPPER = "curl() { command curl --write-out '\\n%{http_code}' \"$@\"; }\n"


@dataclass
class Example:
    line: int
    script: str
    method: str
    path: str
    status: int
    response_kind: str  # "json" or "text"
    response: str

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _curl_request(script: str) -> tuple[str, str]:
    """The method and the path template (`$ID` as `{id}`, no query) of the curl call."""
    command = script.replace("\\\n", " ")
    words = shlex.split(command[command.index("curl ") :], comments=False)
    method = "GET"
    url = ""
    for index, word in enumerate(words):
        if word in ("-X", "--request"):
            method = words[index + 1]
        elif word in ("-d", "--data", "--data-raw") and method == "GET":
            method = "POST"
        elif word.startswith("$PORTAL"):
            url = word
    assert url, f"no $PORTAL URL in: {script}"
    path = urlsplit(url.removeprefix("$PORTAL")).path.replace("$ID", "{id}")
    path = path.replace("$CASE", "{reference}")
    return method, path


def api_examples(text: str) -> list[Example]:
    """Every curl example of the document with its documented status and response."""
    fences = list(FENCE.finditer(text))
    examples = []
    for index, fence in enumerate(fences):
        info, body = fence.group(1).strip(), fence.group(2)
        if info != "sh" or "curl " not in body:
            continue
        line = _line_of(text, fence.start())
        following = fences[index + 1] if index + 1 < len(fences) else None
        assert following is not None and following.group(1).strip() in ("json", "text"), (
            f"docs/api.md line {line}: a curl example needs a json or text response block next"
        )
        paragraphs = re.split(r"\n\s*\n", text[fence.end() : following.start()].strip())
        status = STATUS.search(paragraphs[-1])
        assert status, (
            f"docs/api.md line {line}: the paragraph above the response block names no "
            "status (e.g. `200 OK`:)"
        )
        method, path = _curl_request(body)
        examples.append(
            Example(
                line=line,
                script=body,
                method=method,
                path=path,
                status=int(status.group(1)),
                response_kind=following.group(1).strip(),
                response=following.group(2),
            )
        )
    return examples


def assert_same_shape(documented: Any, actual: Any, path: str = "body") -> None:
    """Same keys at every level, list items shaped like the documented item, the same
    JSON type wherever neither side is null."""
    if documented is None or actual is None:
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(actual) == set(documented), (
            f"{path}: documented keys {sorted(documented)}, actual keys {sorted(actual)}"
        )
        for key, value in documented.items():
            assert_same_shape(value, actual[key], f"{path}.{key}")
        return
    if isinstance(documented, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        if documented:
            for index, item in enumerate(actual):
                assert_same_shape(documented[0], item, f"{path}.{index}")
        return
    assert type(actual) is type(documented), (
        f"{path}: documented {type(documented).__name__} ({documented!r}), "
        f"actual {type(actual).__name__} ({actual!r})"
    )


def assert_same_text_shape(documented: str, actual: str, where: str) -> None:
    """A downloaded text file: the same first line and a last line of the same form
    (numbers may differ)."""
    documented_lines = documented.strip().splitlines()
    actual_lines = actual.strip().splitlines()
    assert actual_lines[0] == documented_lines[0], where
    last = re.sub(r"\d+", r"\\d+", re.escape(documented_lines[-1]))
    assert re.fullmatch(last, actual_lines[-1]), (where, actual_lines[-1])


@pytest.fixture
def demo_portal(transactional_db, live_server, settings, tmp_path):
    """A live portal with the demo data, and the shell variables the examples use."""
    settings.VAR_DIR = tmp_path / "var"
    seed = demo_seed()
    channel = Channel.objects.get(slug="web-messaging")
    return {
        "PORTAL": live_server.url,
        "TOKEN": seed.bot_token,
        "IDENTITY_SECRET": channel.identity_secret,
    }


def run_example(example: Example, variables: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run the block in bash as written; the status and the body curl printed."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd), **variables}
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + CURL_WRAPPER + example.script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    where = f"docs/api.md line {example.line}"
    assert done.returncode == 0, f"{where}: exit {done.returncode}\n{done.stderr}"
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_the_document_has_an_example_for_each_endpoint_in_the_story():
    """Every curl example is parsed (status, response block) and placed in the story."""
    examples = api_examples(API_DOC.read_text())
    assert sorted(example.key for example in examples) == sorted(STORY)


def test_the_examples_of_docs_api_md_run_as_written_against_the_demo_data(demo_portal, tmp_path):
    """Escalate, follow, relay a message, read the chat, authenticate, download the
    transcript and end, each as docs/api.md shows it: the documented status and shape."""
    examples = {example.key: example for example in api_examples(API_DOC.read_text())}
    variables = dict(demo_portal)
    for key in STORY:
        if key[1].startswith("/api/v1/cases/") and "CASE" not in variables:
            variables.update(_case_for_examples(int(variables["ID"])))
        example = examples[key]
        where = f"docs/api.md line {example.line} ({example.method} {example.path})"
        status, body = run_example(example, variables, tmp_path)
        assert status == example.status, f"{where}: {status} {body}"
        if example.response_kind == "json":
            actual = json.loads(body)
            assert_same_shape(json.loads(example.response), actual, where)
        else:
            saved = _saved_file(example.script, tmp_path)
            assert_same_text_shape(example.response, saved.read_text(), where)
        if key == STORY[0]:
            assert actual["queue"] == {"slug": "billing", "name": "Billing"}, where
            assert actual["warnings"] == [], where
            variables["ID"] = str(actual["id"])
        if key[1].endswith("/authentication/"):
            assert actual["authenticated"] is True, where


def _case_for_examples(interaction_id: int) -> dict[str, str]:
    """What the back-office examples need: csr1 handles the chat and opens a dispute in
    it, and a back-office client's token."""
    from django.contrib.auth.models import User

    from cases.models import CaseType
    from cases.services import back_office_client_create, case_create
    from chat.models import Interaction, InteractionStatus

    csr = User.objects.get(username="csr1")
    Interaction.objects.filter(pk=interaction_id).update(
        status=InteractionStatus.ACTIVE, assigned_csr=csr
    )
    case = case_create(
        interaction_id=interaction_id,
        case_type_id=CaseType.objects.get(prefix="DSP").pk,
        values={"amount": "£250", "payment_date": "2025-02-24", "reason": "Not recognised"},
        csr=csr,
    )
    _, token = back_office_client_create(name="Disputes team")
    return {"CASE": case.reference, "BACK_OFFICE_TOKEN": token}


def _saved_file(script: str, cwd: Path) -> Path:
    words = shlex.split(script.replace("\\\n", " "))
    return cwd / words[words.index("-o") + 1]


def _openapi_request_examples() -> list[tuple[str, str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for name, example in content.get("application/json", {}).get("examples", {}).items():
                found.append((method.upper(), path, name, example["value"]))
    return found


def test_the_openapi_request_examples_are_accepted_with_the_demo_data(demo_portal):
    """Each request example of the OpenAPI document, sent as shown with the demo bot's
    token, is accepted (2xx) with no warnings. The identity token's signature cannot be
    shown (the channel's secret is the site's own): it is signed here, as the example's
    description says."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {demo_portal['TOKEN']}")
    examples = _openapi_request_examples()
    assert examples
    escalation_id = None
    # Creating first: the other examples act on the escalation it made.
    for method, path, name, value in sorted(examples, key=lambda e: "{id}" in e[1]):
        if "{id}" in path:
            assert escalation_id is not None, "no escalation example to act on"
            path = path.replace("{id}", str(escalation_id))
        if "token" in value:
            token = value["token"]
            value = {
                "token": sign(
                    secret=demo_portal["IDENTITY_SECRET"],
                    customer_id=token["customer_id"],
                    identity=token["identity"],
                )
            }
        response = client.generic(method, path, json.dumps(value), "application/json")
        assert 200 <= response.status_code < 300, (name, response.status_code, response.content)
        body = response.json()
        assert body.get("warnings", []) == [], (name, body)
        if path == "/api/v1/escalations/":
            escalation_id = body["id"]
