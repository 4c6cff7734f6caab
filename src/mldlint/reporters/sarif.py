"""SARIF 2.1.0 output (``--format sarif``) for GitHub code scanning and other SARIF consumers.

One run: ``tool.driver`` (name, version, informationUri and the rules, generated from
``rules/*.yaml``), ``columnKind: unicodeCodePoints`` (mldlint's columns count code points),
``originalUriBaseIds: {"%SRCROOT%": <the current folder>}`` and one result per finding:
``ruleId``/``ruleIndex``, ``level`` (``error``/``warning``/``note``), ``message``, a location
with a URI relative to ``%SRCROOT%`` and a region (``endLine``/``endColumn`` one past the last
character, SARIF's convention), ``partialFingerprints.primaryLocationLineHash`` (computed the
way GitHub's upload-sarif action does, so uploads through the REST API keep alerts stable too)
and ``fixes`` for findings with a fix. Suppressed findings appear only with
``--include-suppressed``, marked ``suppressions: [{"kind": "inSource"}]``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping, TextIO
from urllib.parse import quote

from . import Report, read_second_file

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Diagnostic
    from ..registry import RuleMeta
    from ..source import SourceFile

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/mldlint/"
SRCROOT = "%SRCROOT%"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
#: GitHub's ``problem.severity`` for each severity.
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "info": "recommendation"}
#: ``security-severity`` (GitHub: >= 9 critical, 7-8.9 high, 4-6.9 medium, < 4 low) of
#: security rules by severity.
SECURITY_SEVERITY = {"error": "7.5", "warning": "5.0", "info": "2.0"}
MAX_DESCRIPTION = 1024


# ---------------------------------------------------------------------- fingerprints
_MASK = (1 << 64) - 1
_BLOCK = 100
_BASE = 37
_FIRST_MOD = pow(_BASE, _BLOCK, 1 << 64)


def line_hashes(text: str) -> dict[int, str]:
    """``primaryLocationLineHash`` of every line of ``text`` (1-based line -> ``"hex:n"``).

    GitHub's upload-sarif action (codeql-action ``fingerprints.ts``): a rolling hash (base 37,
    modulo 2**64) over a window of the next 100 non-space characters (UTF-16 code units;
    spaces and tabs skipped; CR and CRLF read as LF), taken at the first character of each line;
    ``n`` counts earlier lines with the same hash. Lone surrogates (undecodable bytes kept by
    mldlint) are read as U+FFFD, as Node decodes invalid UTF-8.
    """
    text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text) \
        if any("\ud800" <= c <= "\udfff" for c in text) else text
    window = [0] * _BLOCK
    line_numbers = [-1] * _BLOCK
    h = 0
    idx = 0
    line = 0
    at_line_start = True
    prev_cr = False
    counts: dict[str, int] = {}
    out: dict[int, str] = {}

    def emit() -> None:
        hv = format(h & _MASK, "x")
        counts[hv] = counts.get(hv, 0) + 1
        out[line_numbers[idx]] = f"{hv}:{counts[hv]}"
        line_numbers[idx] = -1

    def update(c: int) -> None:
        nonlocal h, idx
        begin = window[idx]
        window[idx] = c
        h = (_BASE * h + c - _FIRST_MOD * begin) & _MASK
        idx = (idx + 1) % _BLOCK

    def process(c: int) -> None:
        nonlocal prev_cr, at_line_start, line
        if c in (32, 9) or (prev_cr and c == 10):
            prev_cr = False
            return
        prev_cr = c == 13
        if c == 13:
            c = 10
        if line_numbers[idx] != -1:
            emit()
        if at_line_start:
            at_line_start = False
            line += 1
            line_numbers[idx] = line
        if c == 10:
            at_line_start = True
        update(c)

    data = text.encode("utf-16-le", "surrogatepass")
    for k in range(0, len(data), 2):
        process(data[k] | (data[k + 1] << 8))
    process(65535)
    for _ in range(_BLOCK):
        if line_numbers[idx] != -1:
            emit()
        update(0)
    return out


def _hash_text(source: "SourceFile") -> str:
    """The text GitHub hashes: the file as read from disk (a UTF-8 BOM is a character)."""
    return ("\ufeff" if source.bom == b"\xef\xbb\xbf" else "") + source.text


# ---------------------------------------------------------------------- rules
def _first_paragraph(text: str, limit: int = MAX_DESCRIPTION) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit - 1]
    stop = cut.rfind(". ")
    return cut[:stop + 1] if stop > limit // 2 else cut.rstrip() + "\u2026"


def rule_descriptor(meta: "RuleMeta") -> dict[str, Any]:
    """A ``reportingDescriptor`` from a rule's YAML."""
    from ..docs import explain_text, help_markdown

    tags = ["dockerfile", meta.category]
    if meta.fix:
        tags.append("fixable")
    props: dict[str, Any] = {
        "tags": tags,
        "category": meta.category,
        "precision": "high",
        "problem.severity": PROBLEM_SEVERITY.get(meta.severity, "warning"),
    }
    if meta.category == "security":
        props["security-severity"] = SECURITY_SEVERITY.get(meta.severity, "5.0")
    out: dict[str, Any] = {
        "id": meta.id,
        "name": meta.name,
        "shortDescription": {"text": _first_paragraph(meta.title)},
        "fullDescription": {"text": _first_paragraph(meta.rationale)},
        "help": {"text": explain_text(meta), "markdown": help_markdown(meta)},
        "defaultConfiguration": {"level": LEVELS.get(meta.severity, "warning"),
                                 "enabled": bool(meta.default_enabled)},
        "properties": props,
    }
    if meta.references:
        out["helpUri"] = meta.references[0]
    return out


def _fallback_descriptor(d: "Diagnostic") -> dict[str, Any]:
    """For a rule without YAML metadata (should not happen; keeps the output valid)."""
    return {
        "id": d.rule, "name": d.name,
        "shortDescription": {"text": d.name}, "fullDescription": {"text": d.name},
        "help": {"text": f"{d.rule} {d.name}", "markdown": f"**{d.rule} {d.name}**"},
        "defaultConfiguration": {"level": LEVELS.get(d.severity, "warning")},
        "properties": {"tags": ["dockerfile", d.category], "category": d.category},
    }


# ---------------------------------------------------------------------- locations
def srcroot_uri(root: str | None = None) -> str:
    """``file:///abs/root/`` of the source root (default: the current folder)."""
    from pathlib import Path

    uri = Path(os.path.abspath(root or os.getcwd())).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def artifact_location(path: str, root: str | None = None) -> dict[str, Any]:
    """A repo-relative URI with ``uriBaseId`` when ``path`` is inside the source root, else an
    absolute ``file://`` URI."""
    root = os.path.abspath(root or os.getcwd())
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full, root)
    except ValueError:
        rel = None
    if rel is not None and rel != os.pardir and not rel.startswith(os.pardir + os.sep):
        return {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}
    from pathlib import Path

    return {"uri": Path(full).as_uri()}


def _region(source: "SourceFile | None", start: int, end: int) -> dict[str, Any]:
    if source is None:
        return {"startLine": 1, "startColumn": 1}
    line, col = source.position(start)
    end_line, end_col = source.position(end)
    return {"startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col}


def _result_region(d: "Diagnostic") -> dict[str, Any]:
    if (d.end_line, d.end_column) <= (d.line, d.column):  # empty span: a point
        return {"startLine": d.line, "startColumn": d.column}
    return {"startLine": d.line, "startColumn": d.column, "endLine": d.end_line,
            "endColumn": d.end_column}


def _fixes(d: "Diagnostic", report: Report, cache: dict[str, "SourceFile | None"],
           root: str | None) -> list[dict[str, Any]]:
    fix = d.fix
    if fix is None or not fix.edits:
        return []
    changes: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(fix.edits, key=lambda e: (e.path or "", e.start)):
        if e.path is None:
            key, src = d.path, report.sources.get(d.path)
        else:
            key, src = e.path, read_second_file(e.path, cache)
        if src is None:  # a second file that does not exist yet: SARIF cannot say "create"
            return []
        changes.setdefault(key, []).append({
            "deletedRegion": _region(src, e.start, e.end),
            "insertedContent": {"text": e.text}})
    return [{
        "description": {"text": f"{fix.title} ({fix.applicability} fix)"},
        "artifactChanges": [{"artifactLocation": artifact_location(path, root),
                             "replacements": reps} for path, reps in changes.items()],
    }]


# ---------------------------------------------------------------------- the document
def document(report: Report, *, suppressed: Iterable["Diagnostic"] = (),
             selected: Iterable[str] = (), metas: Mapping[str, Any] | None = None,
             version: str | None = None, root: str | None = None) -> dict[str, Any]:
    """The SARIF log of a run, as Python objects.

    Args:
        report: the run.
        suppressed: findings suppressed by inline pragmas (``--include-suppressed``).
        selected: the rules that ran (listed in ``tool.driver.rules`` with the rules that have
            results).
        root: the source root (``%SRCROOT%``; default: the current folder).
    """
    if version is None:
        from .. import __version__ as version
    if metas is None:
        from ..engine import load_metas

        metas = load_metas()
    findings = [(d, False) for d in report.sorted_diagnostics()]
    findings += [(d, True) for d in sorted(suppressed, key=lambda d: (d.path, d.line, d.column,
                                                                      d.rule))]
    findings.sort(key=lambda x: (x[0].path, x[0].line, x[0].column, x[0].rule))
    rule_ids = sorted(set(selected) | {d.rule for d, _ in findings})
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rid in rule_ids:
        meta = metas.get(rid)
        if meta is None:
            example = next((d for d, _ in findings if d.rule == rid), None)
            if example is None:
                continue
            if example.category == "shellcheck":  # SC#### findings of --shellcheck
                from ..shellcheck import descriptor

                desc = descriptor(rid, example.severity)
            else:
                desc = _fallback_descriptor(example)
        else:
            desc = rule_descriptor(meta)
        index[rid] = len(rules)
        rules.append(desc)

    hashes: dict[str, dict[int, str]] = {}
    cache: dict[str, "SourceFile | None"] = {}
    results = []
    for d, is_suppressed in findings:
        source = report.sources.get(d.path)
        result: dict[str, Any] = {
            "ruleId": d.rule,
            "ruleIndex": index[d.rule],
            "level": LEVELS.get(d.severity, "warning"),
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact_location(d.path, root) if d.path != "-"
                else {"uri": "stdin"},
                "region": _result_region(d)}}],
        }
        if source is not None:
            if d.path not in hashes:
                hashes[d.path] = line_hashes(_hash_text(source))
            h = hashes[d.path].get(d.line)
            if h is not None:
                result["partialFingerprints"] = {"primaryLocationLineHash": h}
        fixes = _fixes(d, report, cache, root)
        if fixes:
            result["fixes"] = fixes
        if is_suppressed:
            sup: dict[str, Any] = {"kind": "inSource"}
            if d.suppression:
                sup["justification"] = d.suppression
            result["suppressions"] = [sup]
        results.append(result)

    invocation: dict[str, Any] = {"executionSuccessful": True}
    if report.unreadable:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": f"{path}: {reason}"},
             "locations": [{"physicalLocation": {
                 "artifactLocation": artifact_location(path, root)}}]}
            for path, reason in report.unreadable]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "mldlint",
                "version": version,
                "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "invocations": [invocation],
            "originalUriBaseIds": {SRCROOT: {"uri": srcroot_uri(root)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def write(report: Report, stream: TextIO, **kwargs: Any) -> None:
    """Write the SARIF log (indented, ASCII-only JSON)."""
    json.dump(document(report, **kwargs), stream, indent=2, ensure_ascii=True)
    stream.write("\n")
