"""Test kit for shiplane and for users' own tests.

Fixtures and helpers that start shiplane's embedded parts the way the product
does (no mocks of what they stand for). Use from a ``conftest.py``::

    pytest_plugins = ["shiplane.testing.plugin"]

Public names: :func:`run_cli`, :class:`CliResult`, :func:`shiplane_command`.
"""

from shiplane.testing.cli import CliResult, run_cli, shiplane_command

__all__ = ["CliResult", "run_cli", "shiplane_command"]
