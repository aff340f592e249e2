"""Test kit for shiplane and for users' own tests.

Fixtures and helpers that start shiplane's embedded parts the way the product
does (no mocks of what they stand for). Use from a ``conftest.py``::

    pytest_plugins = ["shiplane.testing.plugin"]

Public names: :func:`run_cli`, :class:`CliResult`, :func:`shiplane_command`,
:func:`asgi_client` (a sync httpx client calling an ASGI app in-process).
Fixtures (plugin): ``workspace_dir``, ``embedded_registry``, ``kube_apiserver``,
``embedded_cluster``, ``embedded_process_cluster`` (pods run for real: the process
runtime). :class:`EmbeddedCluster` (``shiplane.testing.cluster``) and
:func:`push_test_image` (``shiplane.testing.images``) and :class:`LoadGenerator`
(``shiplane.testing.traffic``, fixed-rate HTTP load for zero-downtime checks) are imported from
their modules.
"""

from shiplane.testing.asgi import asgi_client
from shiplane.testing.cli import CliResult, run_cli, shiplane_command

__all__ = ["CliResult", "asgi_client", "run_cli", "shiplane_command"]
