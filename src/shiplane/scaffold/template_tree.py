"""Repository templates: real files under ``scaffold/templates/<kind>/``, rendered purely.

Substitution is deliberately tiny and safe: ``@@name@@`` tokens are replaced by
known variables and nothing else is interpreted, so Helm's ``{{ }}``, GitHub
Actions' ``${{ }}`` and shell ``${VAR}`` pass through untouched. An unknown
token is an error (a typo in a template must not ship).

File names map to repository paths by three rules:

* a path part starting with ``dot-`` becomes a dotfile (``dot-github`` ->
  ``.github``), so packaging tools that skip hidden files keep them;
* a trailing ``.tmpl`` is dropped (``main.py.tmpl`` -> ``main.py``), so template
  Python files are not imported, linted or collected as tests of shiplane;
* ``name.model1.ext`` / ``name.model2.ext`` exist only in that model's repo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from shiplane.errors import ScaffoldError

__all__ = ["RepoFile", "render_tree", "repo_path", "substitute", "template_files"]

_TOKEN = re.compile(r"@@([a-z_][a-z0-9_]*)@@")
_VARIANT = re.compile(r"\.model(\d+)(?=\.|$)")


@dataclass(frozen=True)
class RepoFile:
    """One file of a generated repository."""

    path: str  # POSIX, relative to the repository root
    content: str
    executable: bool = False


def substitute(text: str, variables: Mapping[str, str], *, source: str = "<text>") -> str:
    """Replace every ``@@key@@`` of ``text``; unknown keys raise :class:`ScaffoldError`."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in variables:
            raise ScaffoldError(f"template {source}: unknown variable @@{key}@@")
        return variables[key]

    return _TOKEN.sub(replace, text)


def repo_path(template_path: str, model: int | None = None) -> str | None:
    """The repository path of a template file, or ``None`` if not in this model."""
    parts = []
    for part in template_path.split("/"):
        variant = _VARIANT.search(part)
        if variant:
            if model is None or int(variant.group(1)) != model:
                return None
            part = part[: variant.start()] + part[variant.end():]
        if part.startswith("dot-"):
            part = "." + part[len("dot-"):]
        if part.endswith(".tmpl"):
            part = part[: -len(".tmpl")]
        parts.append(part)
    return "/".join(parts)


def _walk(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        path = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _walk(child, path + "/")
        else:
            yield path, child


def template_files(kind: str) -> dict[str, str]:
    """Template path -> text for ``templates/<kind>/`` shipped in the package."""
    root = resources.files("shiplane.scaffold") / "templates" / kind
    if not root.is_dir():
        raise ScaffoldError(f"no templates for {kind!r} in this installation of shiplane")
    return {path: node.read_text(encoding="utf-8") for path, node in _walk(root, "")}


def render_tree(
    kind: str, variables: Mapping[str, str], *, model: int | None = None
) -> dict[str, RepoFile]:
    """Render every template of ``kind``: repository path -> :class:`RepoFile`."""
    out: dict[str, RepoFile] = {}
    for template, text in template_files(kind).items():
        path = repo_path(template, model)
        if path is None:
            continue
        content = substitute(text, variables, source=f"{kind}/{template}")
        out[path] = RepoFile(path, content, executable=path.endswith(".sh"))
    return out
