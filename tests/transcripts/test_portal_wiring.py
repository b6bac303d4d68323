"""Where the portal offers the transcript: Actions → Download transcripts in the chat
panel (enabled, with the download URL in the panel data), Download transcript in the
read-only interaction window, and a Download link in each Recent work row."""

import re

from django.urls import reverse
from django.utils import timezone

from chat.models import InteractionStatus
from config.users import Role
from portal.selectors import PanelMode, interaction_panel
from tests.factories import interaction_factory, user_factory
from tests.transcripts.conftest import login


def _menu_item(html: str) -> str:
    found = re.search(r'<button[^>]*data-menu="download"[^>]*>', html)
    assert found, "the chat panel has a Download transcripts item"
    return found.group(0)


def test_panel_data_enables_download_and_gives_its_url(roles):
    """Every mode of the panel may download: no reason given, and the URL of
    ChatTranscript.txt."""
    interaction = interaction_factory()
    for mode in PanelMode:
        panel = interaction_panel(interaction=interaction, mode=mode)
        assert panel["actions"]["download_transcripts"] == ""
        assert panel["transcript_url"] == f"/interactions/{interaction.pk}/ChatTranscript.txt"


def test_my_work_gives_each_panel_its_transcript_url(roles):
    """My Work builds its panels in the browser from the panels' data (the browser test
    checks the menu item itself): each chat's data enables the download and names its
    URL."""
    csr = user_factory(role=Role.CSR)
    interaction = interaction_factory(
        status=InteractionStatus.ACTIVE, assigned_csr=csr, accepted_at=timezone.now()
    )
    response = login(csr).get(reverse("portal:home"))
    (panel,) = response.context["panels"]
    assert panel["actions"]["download_transcripts"] == ""
    assert panel["transcript_url"] == f"/interactions/{interaction.pk}/ChatTranscript.txt"
    assert "Download transcripts arrives in a later release" not in response.content.decode()


def test_read_only_interaction_window_has_a_download_transcript_link(roles):
    """After the chat ends, the interaction window opened from Recent work offers
    Download transcript (a link to ChatTranscript.txt); the live window does not need
    it (the Actions menu has it)."""
    csr = user_factory(role=Role.CSR)
    ended = interaction_factory(
        status=InteractionStatus.ENDED, assigned_csr=csr, ended_at=timezone.now()
    )
    html = login(csr).get(reverse("portal:interaction", args=[ended.pk])).content.decode()
    link = re.search(r'<a class="btn single__download"[^>]*>', html)
    assert link, "the read-only window has a Download transcript link"
    assert f'href="/interactions/{ended.pk}/ChatTranscript.txt"' in link.group(0)
    assert 'download="ChatTranscript.txt"' in link.group(0)
    assert "Download transcript</a>" in html
    active = interaction_factory(status=InteractionStatus.ACTIVE, assigned_csr=csr)
    html = login(csr).get(reverse("portal:interaction", args=[active.pk])).content.decode()
    assert "single__download" not in html
    assert "aria-disabled" not in _menu_item(html)


def test_recent_work_rows_link_to_their_transcripts(roles):
    """Each Recent work row has a Download link to its ChatTranscript.txt; its name holds
    no interaction id, so "the link named 12" still means the interaction ID link."""
    csr = user_factory(role=Role.CSR)
    ended = interaction_factory(
        status=InteractionStatus.ENDED, assigned_csr=csr, ended_at=timezone.now()
    )
    html = login(csr).get(reverse("portal:recent_work")).content.decode()
    assert (
        f'<a href="/interactions/{ended.pk}/ChatTranscript.txt" download="ChatTranscript.txt" '
        'aria-label="Download transcript">Download</a>'
    ) in html
