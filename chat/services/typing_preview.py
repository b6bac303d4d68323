"""The typing preview: the customer's unsent text shown to the handling CSR, on channels
that turned it on. Nothing of it is stored, in the database or in Redis."""

from chat import events
from chat.models import OPEN_INTERACTION_STATUSES, Interaction
from chat.services.messages import MAX_MESSAGE_CHARS


def typing_preview_relay(*, interaction_id: int, text: str) -> bool:
    """Send `text` (cut to a message's length) to the handling CSR's chat panel. Dropped,
    returning False, when the channel has the preview off, the chat is not open or no CSR
    has it yet: the customer's widget only sends it when told the preview is on."""
    row = (
        Interaction.objects.filter(pk=interaction_id)
        .values("status", "assigned_csr_id", "customer_name", "channel__typing_preview")
        .first()
    )
    if (
        row is None
        or not row["channel__typing_preview"]
        or row["status"] not in OPEN_INTERACTION_STATUSES
        or row["assigned_csr_id"] is None
    ):
        return False
    events.typing_preview_publish(
        csr_id=row["assigned_csr_id"],
        interaction_id=interaction_id,
        name=row["customer_name"],
        text=text[:MAX_MESSAGE_CHARS],
    )
    return True
