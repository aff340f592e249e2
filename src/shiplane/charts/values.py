"""Compose the values of a release exactly as ``helm install/upgrade/template`` does.

Theory of operation (Helm ``pkg/cli/values/options.go`` ``MergeValues``):

1. every ``-f`` file, left to right, deep-merged with ``mergeMaps`` (maps merge
   key by key; anything else — lists, scalars, ``null`` — replaces);
2. then the ``--set`` family by flag TYPE, not by position on the command line:
   all ``--set-json``, then ``--set``, ``--set-string``, ``--set-file``,
   ``--set-literal``, each list left to right, each parsed *into* the map built
   so far (``strvals.ParseInto``);
3. the chart's own ``values.yaml`` lies under all of that: Helm coalesces it when
   rendering (``chartutil.CoalesceValues``), where a user ``null`` deletes a key.

Parsing is Helm's own (``helm_python`` parsers, see ``_sdk``); writing each
parsed assignment into the existing map replays ``ParseInto`` (see ``strvals``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.charts import _sdk, strvals
from shiplane.charts.errors import ValuesFileError

__all__ = ["SET_FLAVOURS", "ValueOverrides", "merge_maps", "merge_values", "read_values_file"]

# The order in which MergeValues applies the --set family (options.go).
SET_FLAVOURS: tuple[str, ...] = ("set-json", "set", "set-string", "set-file", "set-literal")


@dataclass(frozen=True)
class ValueOverrides:
    """The values flags of a Helm command, as the user gave them."""

    values_files: Sequence[Path] = ()
    set_json: Sequence[str] = ()
    set: Sequence[str] = ()
    set_string: Sequence[str] = ()
    set_file: Sequence[str] = ()
    set_literal: Sequence[str] = ()
    # Values already parsed (e.g. from shiplane.yaml), merged like a first -f file.
    base: Mapping[str, Any] = field(default_factory=dict)

    def expressions(self) -> list[tuple[str, str]]:
        """(flavour, expression) pairs in the order Helm applies them."""
        by_flavour = {
            "set-json": self.set_json,
            "set": self.set,
            "set-string": self.set_string,
            "set-file": self.set_file,
            "set-literal": self.set_literal,
        }
        return [(flavour, expr) for flavour in SET_FLAVOURS for expr in by_flavour[flavour]]

    def with_files(self, *files: Path) -> ValueOverrides:
        """A copy with ``files`` appended to the ``-f`` list."""
        return ValueOverrides(
            values_files=(*self.values_files, *files),
            set_json=self.set_json,
            set=self.set,
            set_string=self.set_string,
            set_file=self.set_file,
            set_literal=self.set_literal,
            base=self.base,
        )


def merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's ``mergeMaps``: maps merge recursively, every other value replaces."""
    out: dict[str, Any] = dict(base)
    for key, value in override.items():
        existing = out.get(key)
        if isinstance(value, Mapping) and isinstance(existing, Mapping):
            out[key] = merge_maps(existing, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_values_file(path: Path) -> dict[str, Any]:
    """Read one ``-f`` file with Helm's YAML reader."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValuesFileError(f"values file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValuesFileError(f"values file {path}: cannot be read: {error}") from error
    return _sdk.parse_values_yaml(text, f"values file {path}")


def merge_values(overrides: ValueOverrides) -> dict[str, Any]:
    """The user-supplied values of a release (the chart's defaults not included).

    Pass the result to :func:`shiplane.charts.render_chart` or Helm's install;
    Helm coalesces the chart's ``values.yaml`` underneath.
    """
    merged: dict[str, Any] = merge_maps({}, overrides.base)
    for path in overrides.values_files:
        merged = merge_maps(merged, read_values_file(Path(path)))
    for flavour, expression in overrides.expressions():
        strvals.parse_into(merged, expression, flavour, _sdk.parse_set)
    return merged
