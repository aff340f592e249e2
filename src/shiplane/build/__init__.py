"""Daemonless image builder: Dockerfile → reproducible OCI image (``shiplane build``)."""

from __future__ import annotations

__all__: list[str] = []
