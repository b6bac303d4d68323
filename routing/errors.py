"""Refusals of routing requests, with a code for machines and a message for people."""

CHAT_UNAVAILABLE = "This chat is no longer available."


class RoutingError(Exception):
    """A refused routing request: `code` for clients, `message` for the person reading it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
