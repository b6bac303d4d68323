"""A whisper over real sockets: the CSR's panel gets it whole and marked internal; the
customer's socket gets only its place in the sequence, live and on replay."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import SenderKind
from chat.services.messages import message_send
from supervision.services import joins
from tests.chat.conftest import CUSTOMER_HEADERS, chat_socket
from tests.routing.conftest import login_headers

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SECRET = "Offer the goodwill refund"


async def test_a_whisper_reaches_the_csr_and_never_the_customer(manager, make_csr, make_chat):
    csr = await sync_to_async(make_csr)()
    chat = await sync_to_async(make_chat)(csr=csr)
    csr_headers = await sync_to_async(login_headers)(csr)
    async with (
        chat_socket(chat.customer_path(), CUSTOMER_HEADERS) as customer,
        chat_socket(chat.csr_path(), csr_headers) as panel,
    ):
        whisper = await sync_to_async(joins.chat_whisper)(
            manager=manager, interaction_id=chat.id, text=SECRET, client_msg_id="w-1"
        )
        await sync_to_async(message_send)(
            interaction_id=chat.id,
            sender_kind=SenderKind.CUSTOMER,
            text="Hello?",
            client_msg_id="c-1",
        )
        seen_by_csr = await panel.until_seq(whisper.seq)
        (csr_copy,) = [f for f in seen_by_csr if f.get("seq") == whisper.seq]
        assert csr_copy["text"] == SECRET and csr_copy["internal"] is True
        assert csr_copy["author_name"] == "Jordan Lee (supervisor)"
        frames = await customer.until_seq(whisper.seq + 1)
        hidden = [f for f in frames if f.get("seq") == whisper.seq]
        assert hidden == [
            {"type": "message", "interaction_id": chat.id, "seq": whisper.seq, "hidden": True}
        ]
        assert SECRET not in str(frames)
        assert frames[-1]["text"] == "Hello?"  # the numbering goes on without a gap
    # On replay (a reload) too.
    async with chat_socket(chat.customer_path(last_seq=0), CUSTOMER_HEADERS) as again:
        assert SECRET not in str(again.opening)
        assert whisper.seq in again.opening_seqs()
