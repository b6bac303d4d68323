"""The pages: managers' Reports with its charts' data and tables, the drill-down, CSV
exports (streamed), and dashboards; a CSR sees only their own figures and is refused
(403) everything else; anonymous users go to the login page."""

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse

from config.users import Role
from reports.models import Dashboard
from tests.factories import user_factory
from tests.reports.conftest import History

pytestmark = pytest.mark.django_db

DAY = {"range": "custom", "start": "2026-11-10", "end": "2026-11-10"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_anonymous_users_are_sent_to_log_in(client):
    for name in ("reports:report", "reports:my_dashboard", "reports:interactions"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_report_shows_the_figures_charts_and_tables(history: History):
    response = client_for(history.manager).get(reverse("reports:report"), DAY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "America/New_York" in html
    blocks = {b["key"]: b for b in response.context["tables"]}
    assert set(blocks) == {"period", "queue", "channel", "csr", "offers"}
    chart = json.loads(blocks["period"]["chart_json"])
    assert chart["type"] == "line"
    assert chart["labels"] == [
        "2026-11-10 10:00",
        "2026-11-10 11:00",
        "2026-11-10 12:00",
        "2026-11-10 23:00",
    ]
    assert chart["datasets"][0]["data"] == [1, 1, 1, 1]
    offers = json.loads(blocks["offers"]["chart_json"])
    assert offers["type"] == "stacked"
    assert [d["label"] for d in offers["datasets"]] == [
        "Accepted",
        "Declined",
        "Missed",
        "Withdrawn",
    ]
    # A chart point links to the chats behind it, with the filters of that point.
    drill = chart["datasets"][2]["drill"][1]  # abandoned, 11:00
    page = client_for(history.manager).get(drill)
    assert page.status_code == 200
    assert [r["fact"].interaction_id for r in page.context["rows"]] == [history.chats["b"].pk]
    assert reverse("portal:interaction", args=[history.chats["b"].pk]) in page.content.decode()


def test_the_filters_narrow_the_report(history: History):
    response = client_for(history.manager).get(
        reverse("reports:report"), {**DAY, "queue": history.tech.pk}
    )
    tiles = {t["key"]: t["text"] for t in response.context["tiles"]}
    assert tiles["escalations"] == "1"


def test_bad_filters_get_a_clear_message(history: History):
    response = client_for(history.manager).get(
        reverse("reports:report"), {"range": "custom", "start": "2026-11-10", "end": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "The To date is before the From date." in response.content.decode()
    response = client_for(history.manager).get(
        reverse("reports:report"), {"range": "custom", "start": "2024-01-01", "end": "2026-11-01"}
    )
    assert "at most 366 days" in response.content.decode()


def test_every_table_exports_as_streamed_csv(history: History):
    manager = client_for(history.manager)
    rows = csv_rows(manager.get(reverse("reports:export", args=["queue"]), DAY))
    assert rows[0][:3] == ["Queue", "Escalations", "Answered"]
    assert {r[0]: r[1] for r in rows[1:]} == {"Billing": "3", "Tech": "1"}
    period = csv_rows(manager.get(reverse("reports:export", args=["period"]), DAY))
    assert period[0][0] == "Hour (America/New_York)"
    assert [r[0] for r in period[1:]][-1] == "2026-11-10 23:00"
    reasons = csv_rows(manager.get(reverse("reports:export", args=["reasons"]), DAY))
    assert reasons[1] == ["On a call", "1"]
    chats = csv_rows(
        manager.get(
            reverse("reports:export", args=["interactions"]), {**DAY, "metric": "abandoned"}
        )
    )
    assert [r[0] for r in chats[1:]] == [str(history.chats["b"].pk)]
    for table in ("period", "channel", "csr", "offers"):
        assert manager.get(reverse("reports:export", args=[table]), DAY).status_code == 200
    assert manager.get(reverse("reports:export", args=["nope"]), DAY).status_code == 404


def test_a_csv_cell_is_never_a_formula(history: History):
    from reports.models import OfferFact

    OfferFact.objects.filter(reason="On a call").update(reason="=HYPERLINK(1)")
    rows = csv_rows(
        client_for(history.manager).get(reverse("reports:export", args=["reasons"]), DAY)
    )
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_a_csr_gets_403_on_the_reports_and_on_other_csrs_figures(history: History):
    csr = client_for(history.csr1)
    assert csr.get(reverse("reports:report"), DAY).status_code == 403
    other = {**DAY, "csr": history.csr2.pk}
    assert csr.get(reverse("reports:interactions"), other).status_code == 403
    assert csr.get(reverse("reports:export", args=["csr"]), other).status_code == 403
    board = Dashboard.objects.create(owner=history.csr2, widgets=[])
    assert csr.get(reverse("reports:dashboard", args=[board.pk])).status_code == 403
    assert (
        csr.post(reverse("reports:widget_remove", args=[board.pk]), {"index": 0}).status_code == 403
    )


def test_a_csrs_drill_down_and_export_hold_only_their_own_chats(history: History):
    csr = client_for(history.csr1)
    page = csr.get(reverse("reports:interactions"), DAY)
    assert [r["fact"].interaction_id for r in page.context["rows"]] == [history.chats["a"].pk]
    rows = csv_rows(csr.get(reverse("reports:export", args=["csr"]), DAY))
    assert [r[0] for r in rows[1:]] == ["User" + history.csr1.first_name.removeprefix("User")]


def test_users_without_a_role_get_403(history: History):
    nobody = client_for(user_factory())
    assert nobody.get(reverse("reports:my_dashboard")).status_code == 403
    assert nobody.get(reverse("reports:report")).status_code == 403


def widget(**overrides):
    return {"kind": "chart", "source": "period", "range": "7d", **overrides}


def test_a_csr_builds_their_dashboard_and_it_shows_their_own_figures(history: History):
    csr = client_for(history.csr1)
    assert csr.get(reverse("reports:my_dashboard")).status_code == 200
    board = Dashboard.objects.get(owner=history.csr1)
    url = reverse("reports:widget_add", args=[board.pk])
    assert csr.post(url, widget()).status_code == 302
    assert csr.post(url, widget(kind="metric", source="handle_avg", range="30d")).status_code == 302
    board.refresh_from_db()
    assert [w["csr"] for w in board.widgets] == [history.csr1.pk, history.csr1.pk]
    # A CSR's form has no CSR field: a forged one is ignored and their own is stored.
    csr.post(url, widget(csr=history.csr2.pk))
    board.refresh_from_db()
    assert board.widgets[-1]["csr"] == history.csr1.pk
    assert csr.post(url, widget(kind="pie")).status_code == 400
    page = csr.get(reverse("reports:my_dashboard"))
    assert len(page.context["widgets"]) == 3


def test_widgets_are_moved_and_removed_and_the_layout_is_kept(history: History):
    manager = client_for(history.manager)
    manager.get(reverse("reports:my_dashboard"))
    board = Dashboard.objects.get(owner=history.manager)
    add = reverse("reports:widget_add", args=[board.pk])
    for source in ("period", "queue", "csr"):
        manager.post(add, widget(source=source, kind="table"))
    manager.post(reverse("reports:widget_move", args=[board.pk]), {"index": 2, "direction": "up"})
    board.refresh_from_db()
    assert [w["source"] for w in board.widgets] == ["period", "csr", "queue"]
    manager.post(reverse("reports:widget_remove", args=[board.pk]), {"index": 0})
    board.refresh_from_db()
    assert [w["source"] for w in board.widgets] == ["csr", "queue"]
    bad = manager.post(
        reverse("reports:widget_move", args=[board.pk]), {"index": 9, "direction": "up"}
    )
    assert bad.status_code == 400


def test_a_manager_shares_a_dashboard_with_another_manager_only(history: History):
    owner = client_for(history.manager)
    owner.get(reverse("reports:my_dashboard"))
    board = Dashboard.objects.get(owner=history.manager)
    owner.post(reverse("reports:widget_add", args=[board.pk]), widget(source="queue"))
    peer = user_factory(role=Role.CSR_MANAGER)
    stranger = user_factory(role=Role.CSR_MANAGER)
    assert client_for(peer).get(reverse("reports:dashboard", args=[board.pk])).status_code == 403
    share = reverse("reports:share", args=[board.pk])
    assert owner.post(share, {"managers": [peer.pk]}).status_code == 302
    seen = client_for(peer).get(reverse("reports:dashboard", args=[board.pk]))
    assert seen.status_code == 200 and not seen.context["own"]
    assert board in client_for(peer).get(reverse("reports:my_dashboard")).context["shared_with_me"]
    assert (
        client_for(stranger).get(reverse("reports:dashboard", args=[board.pk])).status_code == 403
    )
    # Only managers can be shared with, and the viewer cannot change it.
    assert owner.post(share, {"managers": [history.csr1.pk]}).status_code == 400
    add = reverse("reports:widget_add", args=[board.pk])
    assert client_for(peer).post(add, widget()).status_code == 403
    # A CSR cannot share.
    csr = client_for(history.csr1)
    csr.get(reverse("reports:my_dashboard"))
    csr_board = Dashboard.objects.get(owner=history.csr1)
    assert (
        csr.post(reverse("reports:share", args=[csr_board.pk]), {"managers": [peer.pk]}).status_code
        == 403
    )
