"""Portal downloads of a transcript: ChatTranscript.txt (Actions → Download
transcripts, and Download transcript in the interaction window) and its JSON form.

Allowed to the CSRs who handle or handled the interaction and to CSR managers, during
the chat and after it ends; anyone else gets 403, and a visitor who is not logged in
goes to the login page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from config.users import user_roles
from transcripts import selectors
from transcripts.streaming import TranscriptFormat, transcript_response

NOT_ALLOWED = (
    "Only the CSRs who handled this interaction and CSR managers may download its transcript."
)


@login_required
@require_GET
def transcript_download(
    request: HttpRequest, interaction_id: int, fmt: str
) -> StreamingHttpResponse:
    """The interaction's transcript as an attachment, streamed."""
    interaction = selectors.transcript_interaction_get(
        interaction_id=interaction_id, csr=request.user
    )
    if interaction is None:
        raise Http404("No such interaction.")
    roles = user_roles(request.user)
    if not selectors.transcript_user_may_download(
        interaction=interaction, user=request.user, roles=roles
    ):
        raise PermissionDenied(NOT_ALLOWED)
    transcript = selectors.transcript_build(
        interaction=interaction, audience=selectors.Audience.CONTACT_CENTER
    )
    return transcript_response(request=request, transcript=transcript, fmt=TranscriptFormat(fmt))
