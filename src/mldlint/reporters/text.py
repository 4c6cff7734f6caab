"""The default, human-readable output.

One line per finding::

    Dockerfile:3:5: MLD303 warning apt-get install without --no-install-recommends [*]

(``[*]`` when ``--fix`` can fix it), an optional code frame (``--show-source``), then a summary
line. Colour (rich) only when asked to; rich is imported only then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from . import Report

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic
    from ..source import SourceFile

#: lines of a multi-line span shown in a code frame before eliding the rest.
MAX_FRAME_LINES = 6

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def use_color(stream: TextIO, no_color: bool = False) -> bool:
    """Colour only on a terminal, and never with ``--no-color`` or ``NO_COLOR`` set (to
    anything non-empty, per no-color.org)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_line(report: Report) -> str:
    """``Found 3 problems (1 error, 2 warnings, 0 info) in 1 file; 1 fixable with --fix.`` or
    ``All checks passed (1 file).``; a note on unreadable paths is appended."""
    n = len(report.diagnostics)
    if n == 0:
        line = f"All checks passed ({_plural(len(report.files), 'file')})."
    else:
        sev = report.by_severity()
        files = len({d.path for d in report.diagnostics})
        line = (f"Found {_plural(n, 'problem')} ({_plural(sev['error'], 'error')}, "
                f"{_plural(sev['warning'], 'warning')}, {sev['info']} info) "
                f"in {_plural(files, 'file')}")
        fixable = report.fixable
        line += f"; {fixable} fixable with --fix." if fixable else "."
    if report.unreadable:
        line += f" {_plural(len(report.unreadable), 'path')} could not be read."
    return line


def format_diagnostic(d: "Diagnostic") -> str:
    """The plain one-line form of a finding."""
    marker = " [*]" if d.fix is not None and d.fix.applicability == "safe" else ""
    return f"{d.path}:{d.line}:{d.column}: {d.rule} {d.severity} {d.message}{marker}"


def code_frame(source: "SourceFile", d: "Diagnostic") -> list[tuple[str, str]]:
    """The code frame of a finding as ``(gutter, text)`` rows: the lines of the span with a
    caret line under the first one."""
    last = d.end_line
    if last > d.line and d.end_column == 1:  # span ends at the newline of the previous line
        last -= 1
    last = min(last, source.line_count)
    first = min(d.line, source.line_count)
    width = len(str(last))
    rows: list[tuple[str, str]] = []
    shown = list(range(first, last + 1))
    elided = 0
    if len(shown) > MAX_FRAME_LINES:
        elided = len(shown) - MAX_FRAME_LINES
        shown = shown[:MAX_FRAME_LINES]
    for ln in shown:
        text = source.line_text(ln)
        rows.append((f"{ln:>{width}} | ", text))
        if ln == first:
            start = d.column - 1
            end = d.end_column - 1 if d.end_line == ln else len(text)
            end = max(end, start + 1)
            prefix = "".join("\t" if c == "\t" else " " for c in text[:start])
            rows.append((f"{'':>{width}} | ", prefix + "^" * (end - start)))
    if elided:
        rows.append((f"{'':>{width}} | ", f"... ({_plural(elided, 'more line')})"))
    return rows


def write(report: Report, stream: TextIO, *, color: bool = False,
          show_source: bool = False) -> None:
    """Write every finding (sorted by path, line, column, rule) and the summary line."""
    diagnostics = report.sorted_diagnostics()
    if color:
        _write_rich(report, diagnostics, stream, show_source)
        return
    for d in diagnostics:
        stream.write(format_diagnostic(d) + "\n")
        if show_source and d.path in report.sources:
            for gutter, text in code_frame(report.sources[d.path], d):
                stream.write(gutter + text + "\n")
    stream.write(summary_line(report) + "\n")


def _write_rich(report: Report, diagnostics: list["Diagnostic"], stream: TextIO,
                show_source: bool) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, force_terminal=True, highlight=False, soft_wrap=True,
                      emoji=False, markup=False)
    for d in diagnostics:
        line = Text()
        line.append(f"{d.path}:{d.line}:{d.column}:", style="bold")
        line.append(" ")
        line.append(d.rule, style="bold magenta")
        line.append(" ")
        line.append(d.severity, style=_SEVERITY_STYLE.get(d.severity, ""))
        line.append(" " + d.message)
        if d.fix is not None and d.fix.applicability == "safe":
            line.append(" [*]", style="cyan")
        console.print(line)
        if show_source and d.path in report.sources:
            for gutter, text in code_frame(report.sources[d.path], d):
                row = Text(gutter, style="blue")
                row.append(text, style="bold red" if text.lstrip(" \t").startswith("^") else "")
                console.print(row)
    summary = summary_line(report)
    style = "bold green" if not report.diagnostics else "bold"
    console.print(Text(summary, style=style))


def write_unreadable(path: str, reason: str, stream: TextIO) -> None:
    """``path: error: reason`` (on stderr)."""
    stream.write(f"{path}: error: {reason}\n")
