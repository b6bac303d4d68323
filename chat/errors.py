"""Refusals of chat actions, with a code for machines and a message for people."""


class ChatError(Exception):
    """A refused chat action: `code` for clients, `message` for the person reading it."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ChatRateLimited(ChatError):
    """A refused chat action that may be tried again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__("rate_limited", message)
        self.retry_after = retry_after


class IdempotencyKeyConflict(Exception):
    """An idempotency key was used before with a different request body (409)."""
