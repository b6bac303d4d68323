"""Refusals of the manager tools: a code, a message a person can act on, an HTTP status."""


class SupervisionError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
