"""The chat and routing tests' fixtures (a bot client; a queue, its channel, CSRs and
interactions), for the documentation's tests."""

from tests.chat.conftest import bot  # noqa: F401
from tests.routing.conftest import channel, make_csr, make_interaction, queue  # noqa: F401
