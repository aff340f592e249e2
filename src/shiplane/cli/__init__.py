"""``shiplane`` command line: Typer + Rich over the library's plain functions.

:func:`main` is the console-script entry point; it is the one place where
errors become messages and exit codes (1 for failures, 2 for usage errors).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from rich.console import Console

from shiplane.errors import ShiplaneError

__all__ = ["main"]


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("SHIPLANE_DEBUG", "") not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    from shiplane.cli.app import build_app  # imported here so `main` is cheap to import

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # Standalone mode: click itself reports usage errors (exit 2) and --help.
        build_app(args)(args=args, prog_name="shiplane", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ShiplaneError as error:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {error.message}", markup=True)
        if error.hint:
            err.print(f"[dim]hint:[/] {error.hint}", markup=True)
        return error.exit_code
    except KeyboardInterrupt:
        err.print("aborted")
        return 130
    except Exception as error:  # noqa: BLE001 — the last line of defence
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] unexpected {type(error).__name__}: {error}", markup=True)
        err.print("[dim]hint:[/] run again with --debug for the full traceback", markup=True)
        return 1
    return 0
