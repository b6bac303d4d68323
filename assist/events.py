"""The assist app's live frames: suggestions pushed to the handling CSR's chat panel
over their chat socket (`csr.push` on the CSR's own group, docs/websocket-protocol.md)."""

from typing import Any, Literal, TypedDict

from chat.events import csr_group
from config.realtime import group_send_many

CSR_PUSH_HANDLER = "csr.push"


class SuggestionsFrame(TypedDict):
    type: Literal["assist.suggestions"]
    interaction_id: int
    seq: int
    items: list[dict[str, Any]]


def suggestions_frame(
    *, interaction_id: int, seq: int, items: list[dict[str, Any]]
) -> SuggestionsFrame:
    return {
        "type": "assist.suggestions",
        "interaction_id": interaction_id,
        "seq": seq,
        "items": items,
    }


def suggestions_publish(
    *, user_id: int, interaction_id: int, seq: int, items: list[dict[str, Any]]
) -> None:
    """Send the frame now (called from a worker, after the message committed)."""
    frame = suggestions_frame(interaction_id=interaction_id, seq=seq, items=items)
    group_send_many([(csr_group(user_id), {"type": CSR_PUSH_HANDLER, "frame": dict(frame)})])
