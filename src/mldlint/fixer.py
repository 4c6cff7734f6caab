"""Fixes as text edits on the original source (DESIGN.md "Rules, fixes, suppressions").

Only the data types live here for now; applying fixes (``--fix``) is built on them.
"""

from __future__ import annotations

from dataclasses import dataclass

APPLICABILITIES = ("safe", "unsafe", "suggest")


@dataclass(frozen=True)
class Edit:
    """Replace source ``text[start:end]`` (offsets, code points, half-open) with ``text``.
    ``path`` is ``None`` for the linted file, or the path of a second file (``.dockerignore``)."""

    start: int
    end: int
    text: str
    path: str | None = None


@dataclass(frozen=True)
class Fix:
    """A set of non-overlapping edits with an applicability (``safe``, ``unsafe``, ``suggest``)
    and a short imperative title ("Add --no-cache-dir")."""

    edits: tuple[Edit, ...]
    applicability: str
    title: str
