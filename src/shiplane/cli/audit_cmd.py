"""``shiplane audit [SERVICE]``: who promoted what, where and when (same as
``shiplane promote audit``; the platform repo's history joined with sync history)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from shiplane.cli.promote_cmd import audit_cmd


class _ShowByDefault(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or args[0] != "show":
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_ShowByDefault)
app.command("show")(audit_cmd)
