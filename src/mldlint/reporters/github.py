"""GitHub Actions workflow commands (``--format github``): one annotation per finding.

::

    ::warning file=Dockerfile,line=3,col=5,endLine=3,endColumn=20,title=MLD310 pip-no-cache-dir::pip install ...

Severities map to ``::error``, ``::warning`` and ``::notice``. Escaping follows the runner's
rules (``actions/toolkit`` ``command.ts``): in the message ``%``, ``\\r`` and ``\\n`` become
``%25``, ``%0D`` and ``%0A``; in property values ``:`` and ``,`` also become ``%3A`` and
``%2C``. Paths that could not be read are ``::error`` annotations on the path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from . import Report

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file``, ``title``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(path: str) -> str:
    return path.replace("\\", "/")


def command(d: "Diagnostic") -> str:
    """The workflow command of one finding."""
    props = [f"file={escape_property(_path(d.path))}", f"line={d.line}", f"col={d.column}"]
    if (d.end_line, d.end_column) > (d.line, d.column):
        props += [f"endLine={d.end_line}", f"endColumn={d.end_column}"]
    props.append(f"title={escape_property(f'{d.rule} {d.name}')}")
    message = d.message + (" [*]" if d.fixable else "")
    return f"::{COMMANDS.get(d.severity, 'warning')} {','.join(props)}::{escape_data(message)}"


def write(report: Report, stream: TextIO) -> None:
    """One line per finding (sorted by path, line, column, rule), then the unreadable paths."""
    for d in report.sorted_diagnostics():
        stream.write(command(d) + "\n")
    for path, reason in report.unreadable:
        stream.write(f"::error file={escape_property(_path(path))},title=mldlint::"
                     f"{escape_data(f'cannot read {path}: {reason}')}\n")
