"""Refusals of co-browse actions, with a code for machines and a message for people."""


class CobrowseError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
