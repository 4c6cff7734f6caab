"""The default, human-readable output.

One line per finding::

    Dockerfile:3:5: MLD303 warning apt-get install without --no-install-recommends [*]

(``[*]`` when ``--fix`` can fix it), an optional code frame (``--show-source``), then a summary
line. Colour (rich) only when asked to; rich is imported only then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, TextIO

from . import Report, describe_savings

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic
    from ..fixer import Saving
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
    if n == 0 and report.unreadable:
        line = f"No problems found in {_plural(len(report.files), 'file')}."
    elif n == 0:
        line = f"All checks passed ({_plural(len(report.files), 'file')})."
    else:
        sev = report.by_severity()
        files = len({d.path for d in report.diagnostics})
        line = (f"Found {_plural(n, 'problem')} ({_plural(sev['error'], 'error')}, "
                f"{_plural(sev['warning'], 'warning')}, {sev['info']} info) "
                f"in {_plural(files, 'file')}")
        fixable = report.fixable
        unsafe = report.unsafe_fixable
        line += f"; {fixable} fixable with --fix" if fixable else ""
        if unsafe:
            line += (f" ({unsafe} more with --unsafe-fixes)" if fixable
                     else f"; {unsafe} fixable with --fix --unsafe-fixes")
        line += "."
    if report.unreadable:
        line += f" {_plural(len(report.unreadable), 'path')} could not be read."
    return line


def savings_line(report: Report) -> str | None:
    """``Estimated image size the fixes save: about 3.5 GB with --fix (pip cache 3.1 GB, ...);
    about 850 MB more with --unsafe-fixes (slim base 850 MB).`` for the fixes still available,
    or ``None`` when the knowledge base has no estimate for any of them."""
    safe = describe_savings(report.pending_savings("safe"), " with --fix")
    if safe:
        unsafe = describe_savings(report.pending_savings("unsafe"), " more with --unsafe-fixes")
    else:
        unsafe = describe_savings(report.pending_savings("unsafe"), " with --fix --unsafe-fixes")
    tail = "; ".join(t for t in (safe, unsafe) if t)
    return f"Estimated image size the fixes save: {tail}." if tail else None


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


def fixed_line(fixes: "Mapping[str, list[tuple[str, str]]]",
               saved: "list[Saving] | None" = None) -> str:
    """``Fixed 3 problems in 2 files.`` (after ``--fix``), with ``; estimated image size: about
    3.1 GB smaller (pip cache 3.1 GB)`` before the period when the fixes have size estimates."""
    n = sum(len(v) for v in fixes.values())
    line = f"Fixed {_plural(n, 'problem')} in {_plural(len(fixes), 'file')}"
    est = describe_savings(saved or [], " smaller")
    return line + (f"; estimated image size: {est}." if est else ".")


def would_fix_line(fixes: "Mapping[str, list[tuple[str, str]]]", changed_files: int,
                   saved: "list[Saving] | None" = None) -> str:
    """``Would fix 3 problems in 2 files.`` or ``No fixes available.`` (after ``--diff``),
    with the size estimate as in :func:`fixed_line`."""
    n = sum(len(v) for v in fixes.values())
    if not n and not changed_files:
        return "No fixes available."
    line = f"Would fix {_plural(n, 'problem')} in {_plural(changed_files, 'file')}"
    est = describe_savings(saved or [], " smaller")
    return line + (f"; estimated image size: {est}." if est else ".")


def write_fixes(fixes: "Mapping[str, list[tuple[str, str]]]",
                written: "Mapping[str, list[tuple[str, list[str]]]] | None",
                stream: TextIO) -> None:
    """The ``--show-fixes`` listing: per file, how many times each rule's fix applied::

        Applied fixes:
          Dockerfile:
            2 x MLD310 Add --no-cache-dir
            wrote .dockerignore (MLD405)
    """
    written = written or {}
    paths = sorted(set(fixes) | set(written))
    if not paths:
        return
    stream.write("Applied fixes:\n")
    for path in paths:
        stream.write(f"  {path}:\n")
        counts: dict[tuple[str, str], int] = {}
        for item in fixes.get(path, ()):
            counts[item] = counts.get(item, 0) + 1
        for (rule_id, title), n in sorted(counts.items()):
            stream.write(f"    {n} x {rule_id} {title}\n")
        for other, rules in written.get(path, ()):
            stream.write(f"    wrote {other} ({', '.join(rules)})\n")


def write(report: Report, stream: TextIO, *, color: bool = False,
          show_source: bool = False,
          fixes: "Mapping[str, list[tuple[str, str]]] | None" = None,
          written: "Mapping[str, list[tuple[str, list[str]]]] | None" = None,
          show_fixes: bool = False) -> None:
    """Write every finding (sorted by path, line, column, rule) and the summary line.

    After ``--fix`` (``fixes`` given: shown path -> ``(rule, title)`` of the applied fixes) the
    findings are those left, ``--show-fixes`` lists the applied fixes, and a ``Fixed N
    problems in M files.`` line precedes the summary when anything was fixed."""
    diagnostics = report.sorted_diagnostics()
    if color:
        _write_rich(report, diagnostics, stream, show_source, fixes, written, show_fixes)
        return
    for d in diagnostics:
        stream.write(format_diagnostic(d) + "\n")
        if show_source and d.path in report.sources:
            for gutter, text in code_frame(report.sources[d.path], d):
                stream.write(gutter + text + "\n")
    if show_fixes and fixes is not None:
        write_fixes(fixes, written, stream)
    if fixes:
        stream.write(fixed_line(fixes, report.saved) + "\n")
    stream.write(summary_line(report) + "\n")
    savings = savings_line(report)
    if savings:
        stream.write(savings + "\n")


def _write_rich(report: Report, diagnostics: list["Diagnostic"], stream: TextIO,
                show_source: bool,
                fixes: "Mapping[str, list[tuple[str, str]]] | None" = None,
                written: "Mapping[str, list[tuple[str, list[str]]]] | None" = None,
                show_fixes: bool = False) -> None:
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
    if show_fixes and fixes is not None:
        console.file.flush()
        write_fixes(fixes, written, stream)
    if fixes:
        console.print(Text(fixed_line(fixes, report.saved), style="bold green"))
    summary = summary_line(report)
    style = "bold green" if not report.diagnostics else "bold"
    console.print(Text(summary, style=style))
    savings = savings_line(report)
    if savings:
        console.print(Text(savings))


def write_unreadable(path: str, reason: str, stream: TextIO) -> None:
    """``path: error: reason`` (on stderr)."""
    stream.write(f"{path}: error: {reason}\n")
