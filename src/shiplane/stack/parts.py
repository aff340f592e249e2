"""Optional parts of the stack: one row each in ``OPTIONAL_PARTS``.

A row says when the part runs (``enabled`` over the supervisor's arguments), how it
starts once the core parts (registry, cluster, git server) are up (``start`` →
its stop function and the endpoint ``shiplane status`` probes) and which
supervisor options it adds. Endpoints go to the state file's ``parts``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OPTIONAL_PARTS", "OptionalPart", "PartContext", "StartedPart"]

log = logging.getLogger("shiplane.stack")


@dataclass(frozen=True)
class PartContext:
    state_dir: Path
    args: argparse.Namespace
    kubeconfig: Path
    registry: str  # host:port
    git_url: str


@dataclass(frozen=True)
class StartedPart:
    stop: Callable[[], None]
    endpoint: str  # probed with GET <endpoint>/healthz


@dataclass(frozen=True)
class OptionalPart:
    name: str
    add_options: Callable[[argparse.ArgumentParser], None]
    enabled: Callable[[argparse.Namespace], bool]
    start: Callable[[PartContext], StartedPart]


def _gitops_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", type=Path, default=None)
    parser.add_argument("--gitops-port", type=int, default=0)
    parser.add_argument("--gitops-interval", type=float, default=180.0)


def _start_gitops(ctx: PartContext) -> StartedPart:
    from shiplane.gitops.controller import ControllerService  # imported here: a web server

    service = ControllerService(
        ctx.args.platform, ctx.kubeconfig, interval=ctx.args.gitops_interval,
        webhook=f"127.0.0.1:{ctx.args.gitops_port}",
        report=lambda name, state: log.info("gitops %s: %s %s", name,
                                            state.comparison.status.value,
                                            state.health.status.value)).start()
    assert service.listener is not None
    log.info("gitops controller watching %s, webhook at %s", ctx.args.platform,
             service.webhook_url)
    return StartedPart(service.stop, service.listener.url)


OPTIONAL_PARTS: tuple[OptionalPart, ...] = (
    OptionalPart("gitops", _gitops_options, lambda args: args.platform is not None,
                 _start_gitops),
)
