"""Reporters: turn the diagnostics of a whole run into text or a JSON document.

Every reporter takes a :class:`Report` (what the run found) and writes to a stream. Reporters
import their heavy dependencies (rich) lazily, so ``mldlint --version`` stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic
    from ..fixer import Saving
    from ..source import SourceFile

FORMATS = ("text", "json")


@dataclass
class Report:
    """The outcome of a run.

    Attributes:
        files: paths of the files that were linted (readable ones), in order.
        diagnostics: every finding of every file.
        unreadable: ``(path, reason)`` of paths that could not be read as text.
        sources: path -> :class:`SourceFile` (for code frames).
        saved: after ``--fix``/``--diff``, the size estimates of the fixes applied (or that
            would be), see :class:`mldlint.fixer.Saving`.
    """

    files: list[str] = field(default_factory=list)
    diagnostics: list["Diagnostic"] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[str, "SourceFile"] = field(default_factory=dict)
    saved: list["Saving"] = field(default_factory=list)

    def sorted_diagnostics(self) -> list["Diagnostic"]:
        """Sorted by path, line, column, rule."""
        return sorted(self.diagnostics, key=lambda d: (d.path, d.line, d.column, d.rule))

    def by_severity(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for d in self.diagnostics:
            counts[d.severity] = counts.get(d.severity, 0) + 1
        return counts

    @property
    def fixable(self) -> int:
        """Findings whose fix ``--fix`` applies (applicability ``safe``)."""
        return sum(1 for d in self.diagnostics if d.fix is not None
                   and d.fix.applicability == "safe")

    @property
    def unsafe_fixable(self) -> int:
        """Findings whose fix only ``--fix --unsafe-fixes`` applies (``unsafe``, with edits)."""
        return sum(1 for d in self.diagnostics if d.fix is not None
                   and d.fix.applicability == "unsafe" and d.fix.edits)


    def pending_savings(self, applicability: str) -> list["Saving"]:
        """Size estimates of the fixes of the findings left whose applicability is
        ``applicability`` (``safe`` for ``--fix``, ``unsafe`` for ``--unsafe-fixes``); a fix
        shared by several findings of a file counts once."""
        seen: dict[tuple[str, object], "Saving"] = {}
        for d in self.diagnostics:
            fix = d.fix
            if fix is not None and fix.applicability == applicability and fix.saves is not None:
                seen.setdefault((d.path, fix), fix.saves)
        return list(seen.values())


def describe_savings(savings: "list[Saving]", after: str = "") -> str | None:
    """``"about 3.5 GB<after> (pip cache 3.1 GB, apt recommends 380 MB)"``: the total and the
    three largest kinds (decimal units), or ``None`` when there is nothing to describe."""
    from ..knowledge.sizes import human

    by_kind: dict[str, int] = {}
    for s in savings:
        by_kind[s.kind] = by_kind.get(s.kind, 0) + s.bytes
    total = sum(by_kind.values())
    if not total:
        return None
    parts = sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{k} {human(n)}" for k, n in parts[:3])
    if len(parts) > 3:
        shown += ", ..."
    return f"about {human(total)}{after} ({shown})"


def read_second_file(path: str, cache: dict[str, "SourceFile | None"]) -> "SourceFile | None":
    """The text of a second file an edit writes (``.dockerignore``), read once per ``cache``;
    ``None`` when it does not exist yet or cannot be read as text."""
    if path not in cache:
        from ..source import SourceFile

        try:
            with open(path, "rb") as fh:
                cache[path] = SourceFile.from_bytes(fh.read(), path=path)
        except (OSError, ValueError):
            cache[path] = None
    return cache[path]


def display_path(path: str) -> str:
    """A path as shown to the user: relative to the current folder when it is inside it,
    otherwise as given. ``-`` (stdin) and other relative paths are kept."""
    if path == "-" or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path
    return rel
