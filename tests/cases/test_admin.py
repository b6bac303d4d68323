"""The admin of service cases: case types with their fields, a write-only webhook secret,
back-office clients whose token is shown once."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from cases.models import BackOfficeClient, CaseType
from cases.services import back_office_client_get_by_token


@pytest.fixture
def admin_client_(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="root-pass-123"))
    return client


def test_a_case_type_page_lists_its_fields_and_hides_the_secret(admin_client_, case_types):
    dispute = case_types["DSP"]
    dispute.webhook_secret = "very-secret-value"
    dispute.save()
    page = admin_client_.get(f"/admin/cases/casetype/{dispute.pk}/change/").content.decode()
    assert "Payment date" in page and "card_ending" in page
    assert "very-secret-value" not in page
    assert "Set (hidden)" in page
    assert admin_client_.get("/admin/cases/casetype/").status_code == 200


def test_a_back_office_client_s_token_is_shown_once_and_stored_hashed(admin_client_):
    answer = admin_client_.post(
        "/admin/cases/backofficeclient/add/", {"name": "Disputes team", "active": "on"}, follow=True
    )
    token = re.search(r"bo_[A-Za-z0-9_-]{20,}", answer.content.decode()).group(0)
    client = BackOfficeClient.objects.get(name="Disputes team")
    assert token not in client.token_hash
    assert back_office_client_get_by_token(token=token) == client
    assert (
        token
        not in admin_client_.get(
            f"/admin/cases/backofficeclient/{client.pk}/change/"
        ).content.decode()
    )


def test_the_case_type_secret_is_replaced_only_when_typed(admin_client_, case_types):
    lost = case_types["LST"]
    lost.webhook_secret = "old-secret"
    lost.save()
    url = f"/admin/cases/casetype/{lost.pk}/change/"
    page = admin_client_.get(url)
    form = page.context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if key not in ("channels", "queues") and value is not None
    }
    inline = page.context["inline_admin_formsets"][0].formset
    data.update({f"{inline.prefix}-TOTAL_FORMS": "0", f"{inline.prefix}-INITIAL_FORMS": "0"})
    data["description"] = "Changed"
    assert admin_client_.post(url, data).status_code == 302
    lost.refresh_from_db()
    assert lost.description == "Changed" and lost.webhook_secret == "old-secret"
    data["new_webhook_secret"] = "new-secret"
    assert admin_client_.post(url, data).status_code == 302
    lost.refresh_from_db()
    assert lost.webhook_secret == "new-secret"
    assert CaseType.objects.get(pk=lost.pk).fields.count() == 4
