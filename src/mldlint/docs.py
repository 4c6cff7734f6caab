"""Documentation generated from the rule metadata (``rules/<ID>.yaml``).

- :func:`rule_table_markdown` / :func:`update_readme`: the README rule table, between the markers
  ``<!-- rules-table:start -->`` and ``<!-- rules-table:end -->``.
  ``python -m mldlint.docs [README.md]`` rewrites the README in place (only when it changed).
- :func:`explain_text`: the plain-text page of one rule (``mldlint explain``).
- :func:`rule_as_json`: one rule for ``mldlint rules --format json``.
- :func:`help_markdown`: a rule's help in Markdown (SARIF ``help.markdown``).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .registry import RuleMeta

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def _metas_list(metas: "Mapping[str, RuleMeta] | Iterable[RuleMeta]") -> list["RuleMeta"]:
    values = metas.values() if isinstance(metas, Mapping) else metas
    return sorted(values, key=lambda m: m.id)


def fix_label(meta: "RuleMeta") -> str:
    """``safe``, ``safe/unsafe``, ... or ``-`` when the rule has no fix (RULES.md's spelling)."""
    return "/".join(meta.fix) if meta.fix else "-"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def rule_table_markdown(metas: "Mapping[str, RuleMeta] | Iterable[RuleMeta]") -> str:
    """The README rule table, one row per rule ordered by ID, ending with a newline.

    Rules that are off by default carry "(off by default)" after their title.
    """
    lines = [
        "| ID | Name | Severity | Fix | Category | Title |",
        "|---|---|---|---|---|---|",
    ]
    for m in _metas_list(metas):
        title = m.title + ("" if m.default_enabled else " (off by default)")
        lines.append(
            f"| {m.id} | `{m.name}` | {m.severity} | {fix_label(m)} | {m.category} "
            f"| {_cell(title)} |"
        )
    return "\n".join(lines) + "\n"


def update_readme(text: str, metas: "Mapping[str, RuleMeta] | None" = None) -> str:
    """``text`` with the rule table between the markers regenerated.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    if metas is None:
        from .registry import load_all

        metas = load_all()
    start = text.find(TABLE_START)
    end = text.find(TABLE_END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"README has no {TABLE_START} ... {TABLE_END} markers")
    newline = "\r\n" if "\r\n" in text else "\n"
    table = rule_table_markdown(metas).replace("\n", newline)
    head = text[: start + len(TABLE_START)]
    return head + newline + table + text[end:]


def _block(title: str, body: str, indent: str = "  ") -> list[str]:
    body = body.strip("\n")
    if not body.strip():
        return []
    return [title, textwrap.indent(textwrap.dedent(body), indent), ""]


def explain_text(meta: "RuleMeta") -> str:
    """Plain-text documentation of one rule (``mldlint explain ID``)."""
    out = [
        f"{meta.id} {meta.name}",
        meta.title,
        "",
        f"Severity: {meta.severity}",
        f"Category: {meta.category}",
        f"Fix: {', '.join(meta.fix) if meta.fix else 'none'}",
        f"Enabled by default: {'yes' if meta.default_enabled else 'no (select it to run it)'}",
    ]
    if meta.peers:
        out.append(f"Peers: {', '.join(meta.peers)}")
    out.append("")
    out += _block("Why it matters", meta.rationale)
    out += _block("Not flagged", meta.not_flagged)
    if meta.fix:
        out += _block("Fix safety", meta.fix_notes)
    for i, ex in enumerate(meta.examples, 1):
        label = "Example" if len(meta.examples) == 1 else f"Example {i}"
        out.append(label)
        files = ex.get("context_files")
        if files is not None:
            listed = ", ".join(sorted(files)) if files else "no files"
            out.append(f"  (build context: {listed})")
        for key, head in (("bad", "Bad:"), ("good", "Good:"), ("fixed", "After --fix:")):
            if key in ex:
                out.append(f"  {head}")
                out.append(textwrap.indent(ex[key].rstrip("\n"), "    ", lambda _l: True))
        out.append("")
    if meta.references:
        out.append("References")
        out += [f"  {ref}" for ref in meta.references]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def help_markdown(meta: "RuleMeta") -> str:
    """A rule's documentation in Markdown (for SARIF ``help.markdown``)."""
    parts = [f"**{meta.id} {meta.name}**: {meta.title}", "", meta.rationale.strip(), ""]
    parts += ["**Not flagged:** " + " ".join(meta.not_flagged.split()), ""]
    if meta.fix:
        parts += [f"**Fix ({', '.join(meta.fix)}):** " + " ".join(meta.fix_notes.split()), ""]
    for ex in meta.examples[:1]:
        for key, head in (("bad", "Bad"), ("good", "Good")):
            if key in ex:
                parts += [f"{head}:", "", "```dockerfile", ex[key].rstrip("\n"), "```", ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def rule_as_json(meta: "RuleMeta") -> dict[str, Any]:
    """One rule for ``mldlint rules --format json``."""
    return {
        "id": meta.id,
        "name": meta.name,
        "severity": meta.severity,
        "fix": list(meta.fix),
        "category": meta.category,
        "title": meta.title,
    }


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README's rule table in place. Returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "README.md")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    try:
        new = update_readme(text)
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    if new != text:
        path.write_bytes(new.encode("utf-8"))
        print(f"{path}: rule table updated")
    else:
        print(f"{path}: rule table up to date")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
