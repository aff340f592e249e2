"""Reading ``shiplane.yaml`` and resolving settings with their origin.

Errors name the file, the key path and the line, e.g.
``shiplane.yaml:7: environments.prod.namespace: 'Prod' is not a valid namespace``.
Settings remember where their value came from (flag > environment variable >
file > default), like click's ``ParameterSource``, so ``shiplane config show``
can say why a value is what it is.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from shiplane.config.models import Workspace
from shiplane.errors import ConfigError

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILENAME",
    "STATE_DIR_ENV_VAR",
    "Sourced",
    "ValueSource",
    "find_config",
    "load_workspace",
    "parse_workspace",
    "resolve_setting",
]

CONFIG_FILENAME = "shiplane.yaml"
CONFIG_ENV_VAR = "SHIPLANE_CONFIG"
STATE_DIR_ENV_VAR = "SHIPLANE_STATE_DIR"

T = TypeVar("T")


class ValueSource(enum.Enum):
    FLAG = "flag"
    ENV = "environment variable"
    FILE = "config file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Sourced(Generic[T]):
    value: T
    source: ValueSource
    detail: str = ""


def resolve_setting(
    *, flag: T | None, env_var: str | None, file_value: T | None, default: T,
    convert: Any = None,
) -> Sourced[T]:
    """Pick a setting by precedence: flag > environment variable > file > default."""
    if flag is not None:
        return Sourced(flag, ValueSource.FLAG)
    if env_var and os.environ.get(env_var):
        raw = os.environ[env_var]
        return Sourced(convert(raw) if convert else raw, ValueSource.ENV, env_var)
    if file_value is not None:
        return Sourced(file_value, ValueSource.FILE)
    return Sourced(default, ValueSource.DEFAULT)


def find_config(start: Path | None = None) -> Path | None:
    """``$SHIPLANE_CONFIG``, else the nearest ``shiplane.yaml`` in ``start`` or a parent."""
    if os.environ.get(CONFIG_ENV_VAR):
        return Path(os.environ[CONFIG_ENV_VAR])
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
    return None


def _line_of(document: Any, location: Sequence[str | int]) -> int | None:
    """1-based line of the deepest key of ``location`` found in a round-trip document."""
    node, line = document, None
    for key in location:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and key in node:
                if lc is not None:
                    line = lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and key < len(node):
                if lc is not None:
                    line = lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    if line is None and getattr(document, "lc", None) is not None:
        line = document.lc.line + 1
    return line


def parse_workspace(text: str, *, filename: str = CONFIG_FILENAME) -> Workspace:
    """Parse and validate configuration text; raises :class:`ConfigError`."""
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{filename}:{mark.line + 1}" if mark else filename
        raise ConfigError(
            f"{where}: not valid YAML: {error.problem}",
            hint="fix the YAML syntax at that line",
        ) from None
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise ConfigError(f"{filename}:1: the top level must be a mapping of settings")
    try:
        return Workspace.model_validate(_plain(document))
    except ValidationError as error:
        first = error.errors()[0]
        location = [part for part in first["loc"] if not str(part).startswith("function-")]
        key = ".".join(str(part) for part in location) or "(top level)"
        line = _line_of(document, location)
        where = f"{filename}:{line}" if line else filename
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        more = len(error.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(
            f"{where}: {key}: {message}{suffix}",
            hint="see `shiplane config show` and ARCHITECTURE.md for the schema",
        ) from None


def _plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts/lists for pydantic."""
    if isinstance(node, Mapping):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node


def load_workspace(path: Path | None = None) -> Workspace:
    """Load the workspace config from ``path`` (or find it); defaults when there is none.

    A relative ``state_dir`` is made relative to the config file's folder.
    """
    path = path or find_config()
    if path is None:
        return Workspace()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    workspace = parse_workspace(text, filename=str(path))
    if not workspace.state_dir.is_absolute():
        workspace = workspace.model_copy(
            update={"state_dir": (path.parent / workspace.state_dir).resolve()}
        )
    return workspace
