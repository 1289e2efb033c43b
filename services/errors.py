"""Errors a service raises when the request itself cannot be served (not legal refusals)."""

from __future__ import annotations


class NotFound(LookupError):
    """The record does not exist, or is outside the actor's scope: the two look the same."""


class InvalidInput(ValueError):
    """Input the forms should have caught: the service refuses it before touching anything."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
