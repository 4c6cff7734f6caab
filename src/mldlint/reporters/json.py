"""The machine-readable output: one JSON document for the whole run (DESIGN.md "Outputs").

::

    {"schema_version": 1,
     "tool": {"name": "mldlint", "version": "0.1.0"},
     "results": [{"path", "line", "column", "end_line", "end_column", "rule", "name",
                  "severity", "category", "message",
                  "fix": null | {"applicability", "title",
                                 "edits": [{"path", "line", "column", "end_line",
                                            "end_column", "text"}],
                                 "saves"?: {"bytes", "kind"}}}],
     "summary": {"files", "findings", "by_severity": {"error", "warning", "info"}, "fixable",
                 "unsafe_fixable", "estimated_savings_bytes": {"fixed", "fix", "unsafe_fixes"},
                 "unreadable": [{"path", "reason"}]}}

``fixable`` counts the findings ``--fix`` fixes, ``unsafe_fixable`` those only
``--fix --unsafe-fixes`` fixes. ``saves`` (present when the knowledge base can tell) estimates the image size a fix takes out,
in bytes; the summary adds them up: ``fixed`` for the fixes ``--fix`` applied, ``fix`` and
``unsafe_fixes`` for the fixes still available to ``--fix`` and ``--unsafe-fixes``.

Positions are 1-based; ``end_*`` point one past the last character. Results are sorted by path,
line, column, rule.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, TextIO

from . import Report, display_path, read_second_file

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic
    from ..fixer import Edit
    from ..source import SourceFile

SCHEMA_VERSION = 1


def _edit(e: "Edit", d: "Diagnostic", source: "SourceFile | None",
          other: Callable[[str], "SourceFile | None"]) -> dict[str, Any]:
    if e.path is not None:
        path = display_path(e.path)
        src = other(e.path)
    else:
        path = d.path
        src = source
    if src is None:
        line = column = end_line = end_column = 1
    else:
        line, column = src.position(e.start)
        end_line, end_column = src.position(e.end)
    return {"path": path, "line": line, "column": column, "end_line": end_line,
            "end_column": end_column, "text": e.text}


def document(report: Report, version: str | None = None) -> dict[str, Any]:
    """The JSON document of a run, as Python objects."""
    if version is None:
        from .. import __version__ as version
    cache: dict[str, "SourceFile | None"] = {}

    def other(path: str) -> "SourceFile | None":
        return read_second_file(path, cache)

    results = []
    for d in report.sorted_diagnostics():
        fix = None
        if d.fix is not None:
            source = report.sources.get(d.path)
            fix = {"applicability": d.fix.applicability, "title": d.fix.title,
                   "edits": [_edit(e, d, source, other) for e in d.fix.edits]}
            if d.fix.saves is not None:
                fix["saves"] = {"bytes": d.fix.saves.bytes, "kind": d.fix.saves.kind}
        results.append({
            "path": d.path, "line": d.line, "column": d.column, "end_line": d.end_line,
            "end_column": d.end_column, "rule": d.rule, "name": d.name,
            "severity": d.severity, "category": d.category, "message": d.message, "fix": fix})
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mldlint", "version": version},
        "results": results,
        "summary": {
            "files": len(report.files),
            "findings": len(report.diagnostics),
            "by_severity": report.by_severity(),
            "fixable": report.fixable,
            "unsafe_fixable": report.unsafe_fixable,
            "estimated_savings_bytes": {
                "fixed": sum(s.bytes for s in report.saved),
                "fix": sum(s.bytes for s in report.pending_savings("safe")),
                "unsafe_fixes": sum(s.bytes for s in report.pending_savings("unsafe")),
            },
            "unreadable": [{"path": p, "reason": r} for p, r in report.unreadable],
        },
    }


def write(report: Report, stream: TextIO) -> None:
    """Write the document (indented; ASCII-only, so undecodable bytes of a file, kept as lone
    surrogates, cannot make writing fail)."""
    json.dump(document(report), stream, indent=2, ensure_ascii=True)
    stream.write("\n")
