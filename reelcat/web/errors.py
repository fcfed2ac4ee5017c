"""The error a request handler raises to answer with a 4xx (or 5xx) and its reason.

Raised before anything is written, so a refused request leaves the verdict log as it was.
"""

from __future__ import annotations


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}  # sent with the error (416's Content-Range)
