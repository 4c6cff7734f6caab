"""GitLab code quality report (``--format gitlab``): a JSON array of Code Climate issues.

Each finding becomes ``{"type": "issue", "description", "check_name", "fingerprint",
"severity", "categories", "location": {"path", "lines": {"begin", "end"}}}``. Severities map to
``major`` (error), ``minor`` (warning) and ``info``. The fingerprint (MD5 hex, as GitLab
expects) hashes the path, the rule, the message and the text of the finding's first line, with an
occurrence counter, so it survives lines being added above the finding.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, TextIO

from . import Report

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}
CATEGORIES = {"security": "Security", "layers": "Performance", "packages": "Bug Risk",
              "syntax": "Bug Risk", "base-image": "Bug Risk", "runtime": "Bug Risk",
              "ml": "Bug Risk", "meta": "Style"}


def document(report: Report) -> list[dict[str, Any]]:
    """The code quality report of a run, as Python objects."""
    seen: dict[str, int] = {}
    out = []
    for d in report.sorted_diagnostics():
        source = report.sources.get(d.path)
        line_text = ""
        if source is not None and 1 <= d.line <= source.line_count:
            line_text = source.line_text(d.line).strip()
        key = "\0".join((d.path, d.rule, d.message, line_text))
        seen[key] = seen.get(key, 0) + 1
        fingerprint = hashlib.md5(f"{key}\0{seen[key]}".encode("utf-8", "surrogateescape"),
                                  usedforsecurity=False).hexdigest()
        out.append({
            "type": "issue",
            "description": f"{d.rule} {d.message}",
            "check_name": f"{d.rule} {d.name}",
            "fingerprint": fingerprint,
            "severity": SEVERITIES.get(d.severity, "minor"),
            "categories": [CATEGORIES.get(d.category, "Bug Risk")],
            "location": {"path": d.path.replace("\\", "/"),
                         "lines": {"begin": d.line, "end": max(d.line, d.end_line)}},
        })
    return out


def write(report: Report, stream: TextIO) -> None:
    json.dump(document(report), stream, indent=2, ensure_ascii=True)
    stream.write("\n")
