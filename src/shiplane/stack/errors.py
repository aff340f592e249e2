"""Errors of the embedded stack (``shiplane up / status / down``)."""

from __future__ import annotations

from shiplane.errors import ShiplaneError, UsageError

__all__ = ["PortInUseError", "StackError", "StackStartError"]


class StackError(ShiplaneError):
    """The embedded stack could not be started, reached or stopped."""


class StackStartError(StackError):
    """The supervisor exited or did not become healthy; the message has its log tail."""


class PortInUseError(UsageError):
    """A port asked for (or remembered from the last run) is taken by another program."""
