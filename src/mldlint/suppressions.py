"""Inline suppressions (pragmas) and the two meta rules about them, MLD002 and MLD003.

A pragma is a whole comment line (in a Dockerfile ``#`` starts a comment only at the start of a
line)::

    # mldlint: ignore=MLD310,pip-unpinned -- the cache is a BuildKit mount
    # mldlint: ignore-stage=MLD501            (directly above a FROM: the whole stage)
    # mldlint: ignore-file=MLD311             (anywhere: the whole file)
    # hadolint ignore=DL3008,DL3013            (hadolint's, for the mapped rules)
    # hadolint global ignore=DL3042

``ignore`` applies to the next instruction (all its lines; a pragma inside a continuation
applies to the instruction it is in). Rules are named by ID or name; a reason after ``--`` is
kept as the suppression's justification (SARIF ``suppressions[].justification``). ShellCheck
codes (``SC2086``, the findings of ``--shellcheck``) are accepted in both kinds of pragma; an
unused one is MLD003 only when ShellCheck ran.

- **MLD002 invalid-pragma**: a ``# mldlint:`` comment that does not parse, names an unknown
  rule, names MLD004 (a crash must stay visible), is an ``ignore-stage`` that is not above a
  FROM, or an ``ignore`` with no instruction after it.
- **MLD003 unused-pragma**: a rule named by a ``# mldlint:`` pragma that was selected to run
  and reported nothing in the pragma's scope. The safe fix removes the comment line, or only
  the unused rules when others in the same pragma are still needed. hadolint pragmas are never
  reported as unused (hadolint may still need them), and neither are rules that did not run.

MLD002 and MLD003 findings themselves can be suppressed by ``ignore-stage``/``ignore-file``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Diagnostic
    from .fixer import Fix
    from .parser.nodes import Dockerfile
    from .source import SourceFile

INVALID_PRAGMA = "MLD002"
UNUSED_PRAGMA = "MLD003"
INTERNAL_ERROR = "MLD004"
#: rules a pragma may not silence.
UNSUPPRESSIBLE = frozenset({INTERNAL_ERROR})

#: hadolint rule -> mldlint rules, from the ``Peers`` column of RULES.md (the catalogue) and the
#: ``peers`` of ``rules/*.yaml`` (merged in at run time by :func:`hadolint_map`). The README's
#: "hadolint pragmas" table is this table (a test keeps them equal).
HADOLINT_MAP: dict[str, tuple[str, ...]] = {
    "DL3000": ("MLD113",), "DL3002": ("MLD501",), "DL3004": ("MLD504",),
    "DL3006": ("MLD201",), "DL3007": ("MLD201",), "DL3008": ("MLD305",),
    "DL3009": ("MLD304",), "DL3011": ("MLD114",), "DL3012": ("MLD106",),
    "DL3013": ("MLD311",), "DL3014": ("MLD302",), "DL3015": ("MLD303",),
    "DL3019": ("MLD330",), "DL3020": ("MLD406",), "DL3021": ("MLD116",),
    "DL3022": ("MLD108",), "DL3023": ("MLD108",), "DL3024": ("MLD107",),
    "DL3025": ("MLD115",), "DL3026": ("MLD206",), "DL3027": ("MLD306",),
    "DL3029": ("MLD207",), "DL3030": ("MLD331",), "DL3032": ("MLD331",),
    "DL3038": ("MLD331",), "DL3040": ("MLD331",), "DL3042": ("MLD310",),
    "DL3043": ("MLD117",), "DL3045": ("MLD113",), "DL3046": ("MLD509",),
    "DL3047": ("MLD340",), "DL3057": ("MLD601",), "DL3059": ("MLD403",),
    "DL3060": ("MLD332",), "DL3061": ("MLD103",), "DL3063": ("MLD107",),
    "DL3064": ("MLD502",), "DL4000": ("MLD110",), "DL4001": ("MLD340",),
    "DL4003": ("MLD106",), "DL4004": ("MLD106",), "DL4006": ("MLD341",),
}

_DL_RE = re.compile(r"^DL\d{4}$")
#: ShellCheck codes (``--shellcheck`` findings): accepted in both kinds of pragma.
_SC_RE = re.compile(r"^SC\d{4}$")
#: what the engine adds to the set of rules that ran when ShellCheck ran.
SHELLCHECK_RAN = "shellcheck"
_MLDLINT_RE = re.compile(r"#\s*mldlint\s*:", re.I)
_NO_COLON_RE = re.compile(r"#\s*mldlint\s+ignore[A-Za-z-]*\s*=", re.I)
_BODY_RE = re.compile(
    r"(?P<kind>[A-Za-z][A-Za-z_-]*)\s*=\s*(?P<codes>[^\s,]+(?:\s*,\s*[^\s,]+)*)?\s*"
    r"(?P<tail>.*)$")
_HADOLINT_RE = re.compile(
    r"#\s*hadolint\s+(?P<global>global\s+)?ignore\s*=\s*(?P<codes>[^\s,]+(?:\s*,\s*[^\s,]+)*)",
    re.I)
_CODE_RE = re.compile(r"[^\s,]+")
KINDS = ("ignore", "ignore-stage", "ignore-file")

# scope names used in messages
_WHERE = {"ignore": "on the next instruction", "ignore-stage": "in this stage",
          "ignore-file": "in this file"}


#: the last metadata mapping :func:`hadolint_map` was built for, and the map (one run lints
#: many files with the same metadata; building the map costs more than parsing most files'
#: comments)
_DL_CACHE: list[Any] = [None, None]


def hadolint_map(metas: Mapping[str, Any] | None = None) -> dict[str, tuple[str, ...]]:
    """:data:`HADOLINT_MAP` plus every ``DLxxxx`` named in a rule's YAML ``peers``."""
    if metas is not None and _DL_CACHE[0] is metas:
        return _DL_CACHE[1]
    out = {k: tuple(v) for k, v in HADOLINT_MAP.items()}
    for rid, meta in (metas or {}).items():
        for peer in getattr(meta, "peers", ()) or ():
            for word in re.findall(r"DL\d{4}", str(peer)):
                if rid not in out.get(word, ()):
                    out[word] = tuple(sorted(out.get(word, ()) + (rid,)))
    if metas is not None:
        _DL_CACHE[:] = [metas, out]
    return out


@dataclass
class Code:
    """One rule named in a pragma: its ID, the text as written and the text's span."""

    rule: str
    written: str
    span: tuple[int, int]


@dataclass
class Pragma:
    """A parsed suppression comment.

    Attributes:
        kind: ``ignore``, ``ignore-stage``, ``ignore-file`` (hadolint pragmas map to ``ignore``
            and ``ignore-file``).
        hadolint: whether it is a ``# hadolint`` pragma (never reported as unused).
        line: the comment's 1-based line.
        span: the comment's span (``#`` to the end of the line).
        codes: the mldlint rules it names.
        codes_span: span of the whole rule list as written (for partial MLD003 fixes).
        first, last: the 1-based lines it covers (``last`` inclusive).
        reason: the text after ``--`` (``""`` when none).
        used: rule IDs it suppressed at least once.
    """

    kind: str
    hadolint: bool
    line: int
    span: tuple[int, int]
    codes: list[Code]
    codes_span: tuple[int, int]
    first: int = 0
    last: int = 0
    reason: str = ""
    used: set[str] = field(default_factory=set)

    def covers(self, d: "Diagnostic") -> bool:
        return self.first <= d.line <= self.last and any(c.rule == d.rule for c in self.codes)


Make = Callable[..., "Diagnostic"]


# ---------------------------------------------------------------------- parsing
def _resolver(metas: Mapping[str, Any]) -> Callable[[str], str | None]:
    by_name = {getattr(m, "name", ""): rid for rid, m in metas.items()}

    def resolve(word: str) -> str | None:
        if word.upper() in metas:
            return word.upper()
        if _SC_RE.match(word.upper()):  # a ShellCheck code (`--shellcheck`)
            return word.upper()
        return by_name.get(word.lower())

    return resolve


def _target(df: "Dockerfile", line: int) -> Any:
    """The instruction a next-instruction pragma on ``line`` applies to: the one it sits in
    (inside a continuation) or the first one after it."""
    for ins in getattr(df, "instructions", None) or ():
        if ins.end_line >= line:
            return ins
    return None


def parse_pragmas(df: "Dockerfile", source: "SourceFile", metas: Mapping[str, Any],
                  make: Make | None = None) -> tuple[list[Pragma], list["Diagnostic"]]:
    """The pragmas of a file and the MLD002 findings of the malformed ones (``make`` builds a
    diagnostic: ``make(rule_id, message, span, fix=None)``; without it no findings are made)."""
    resolve = _resolver(metas)
    dl_map = hadolint_map(metas)
    text = source.text
    pragmas: list[Pragma] = []
    invalid: list["Diagnostic"] = []

    def bad(message: str, span: tuple[int, int]) -> None:
        if make is not None:
            invalid.append(make(INVALID_PRAGMA, message, span))

    last_line = max(source.line_count, 1)
    for comment in getattr(df, "comments", None) or ():
        start, end = int(comment.span[0]), int(comment.span[1])
        raw = text[start:end]
        span = (start, end)
        if _NO_COLON_RE.match(raw):
            bad("malformed mldlint pragma: expected `# mldlint: ignore=RULES` (with a colon)",
                span)
            continue
        m = _MLDLINT_RE.match(raw)
        if m:
            body_at = m.end()
            while body_at < len(raw) and raw[body_at] in " \t":
                body_at += 1
            body = raw[body_at:]
            bm = _BODY_RE.match(body)
            if not bm:
                bad("malformed mldlint pragma: expected `ignore=`, `ignore-stage=` or "
                    "`ignore-file=` followed by rule IDs or names", span)
                continue
            kind = bm.group("kind").lower()
            if kind not in KINDS:
                bad(f"unknown mldlint pragma {bm.group('kind')!r}: expected one of "
                    f"{', '.join(KINDS)}", span)
                continue
            if not bm.group("codes"):
                bad(f"mldlint pragma `{kind}=` names no rules", span)
                continue
            tail = bm.group("tail").strip()
            reason = ""
            if tail:
                if not tail.startswith("--"):
                    bad(f"malformed mldlint pragma: unexpected {tail.split()[0]!r} after the rule "
                        "list (rules are separated by commas; put a reason after ` -- `)", span)
                    continue
                reason = tail[2:].strip()
            codes_start = start + body_at + bm.start("codes")
            codes_end = start + body_at + bm.end("codes")
            codes: list[Code] = []
            ok = True
            for cm in _CODE_RE.finditer(text, codes_start, codes_end):
                word = cm.group(0)
                rid = resolve(word)
                cspan = (cm.start(), cm.end())
                if rid is None:
                    bad(f"unknown rule {word!r} in mldlint pragma (see `mldlint rules`)", cspan)
                    ok = False
                elif rid in UNSUPPRESSIBLE:
                    bad(f"{rid} cannot be suppressed: a crash of a rule is a bug to report", cspan)
                    ok = False
                else:
                    codes.append(Code(rid, word, cspan))
            if not ok and not codes:
                continue
            p = Pragma(kind, False, comment.line, span, codes, (codes_start, codes_end),
                       reason=reason)
            if kind == "ignore-file":
                p.first, p.last = 1, last_line
            elif kind == "ignore":
                ins = _target(df, comment.line)
                if ins is None:
                    bad("mldlint pragma `ignore=` has no instruction after it "
                        "(use `ignore-file=` for the whole file)", span)
                    continue
                p.first, p.last = ins.start_line, ins.end_line
            else:  # ignore-stage
                ins = _target(df, comment.line)
                if ins is None or ins.keyword != "FROM" or ins.start_line <= comment.line:
                    what = "nothing" if ins is None else ins.keyword
                    bad(f"mldlint pragma `ignore-stage=` must be above a FROM (it is above "
                        f"{what})", span)
                    continue
                p.first = ins.start_line
                later = [s.from_.start_line for s in getattr(df, "stages", None) or ()
                         if s.from_ is not None and s.from_.start_line > ins.start_line]
                p.last = (min(later) - 1) if later else last_line
            pragmas.append(p)
            continue
        hm = _HADOLINT_RE.match(raw)
        if hm:
            codes = []
            for cm in _CODE_RE.finditer(text, start + hm.start("codes"), start + hm.end("codes")):
                word = cm.group(0).upper()
                if _SC_RE.match(word):
                    codes.append(Code(word, cm.group(0), (cm.start(), cm.end())))
                for rid in dl_map.get(word, ()):
                    if rid in metas:
                        codes.append(Code(rid, cm.group(0), (cm.start(), cm.end())))
            if not codes:
                continue
            cspan = (start + hm.start("codes"), start + hm.end("codes"))
            if hm.group("global"):
                p = Pragma("ignore-file", True, comment.line, span, codes, cspan, 1, last_line)
            else:
                ins = _target(df, comment.line)
                if ins is None:
                    continue
                p = Pragma("ignore", True, comment.line, span, codes, cspan,
                           ins.start_line, ins.end_line)
            pragmas.append(p)
    return pragmas, invalid


# ---------------------------------------------------------------------- applying
_ORDER = {"ignore": 0, "ignore-stage": 1, "ignore-file": 2}


def _suppress(diags: list["Diagnostic"], pragmas: list[Pragma],
              kinds: tuple[str, ...] = KINDS) -> tuple[list["Diagnostic"], list["Diagnostic"]]:
    """Split ``diags`` into (kept, suppressed); suppressed ones get ``suppression`` set to the
    reason of the narrowest pragma covering them. Marks the pragmas used."""
    ordered = sorted((p for p in pragmas if p.kind in kinds), key=lambda p: _ORDER[p.kind])
    kept: list["Diagnostic"] = []
    suppressed: list["Diagnostic"] = []
    for d in diags:
        if d.rule in UNSUPPRESSIBLE:
            kept.append(d)
            continue
        hit = [p for p in ordered if p.covers(d)]
        if not hit:
            kept.append(d)
            continue
        for p in hit:
            p.used.add(d.rule)
        d.suppression = next((p.reason for p in hit if p.reason), "")
        suppressed.append(d)
    return kept, suppressed


def _remove_line_fix(source: "SourceFile", line: int) -> "Fix":
    from .fixer import Edit, Fix

    return Fix((Edit(source.line_start(line), source.line_end(line, keep_newline=True), ""),),
               "safe", "Remove the unused suppression comment")


def _unused(p: Pragma, source: "SourceFile", selected: set[str], metas: Mapping[str, Any],
            make: Make) -> "Diagnostic | None":
    if p.hadolint:
        return None
    unused = [c for c in p.codes
              if (c.rule in selected or (SHELLCHECK_RAN in selected and _SC_RE.match(c.rule)))
              and c.rule not in p.used
              and c.rule not in (INVALID_PRAGMA, UNUSED_PRAGMA)]
    if not unused:
        return None
    names = ", ".join(
        f"{c.rule} ({getattr(metas.get(c.rule), 'name', c.rule.lower())})" for c in unused)
    where = _WHERE[p.kind]
    remaining = [c for c in p.codes if c not in unused]
    if not remaining:
        what = "unused suppression" if len(unused) == 1 else "unused suppressions"
        return make(UNUSED_PRAGMA, f"{what}: {names} reported nothing {where}", p.span,
                    fix=_remove_line_fix(source, p.line))
    from .fixer import Edit, Fix

    fix = Fix((Edit(p.codes_span[0], p.codes_span[1], ",".join(c.written for c in remaining)),),
              "safe", "Remove the unused rules from the suppression")
    return make(UNUSED_PRAGMA, f"unused suppression: {names} reported nothing {where}",
                (unused[0].span[0], unused[-1].span[1]), fix=fix)


def apply(df: "Dockerfile", source: "SourceFile", diagnostics: list["Diagnostic"],
          selected: set[str], *, make: Make, metas: Mapping[str, Any], inline: bool = True,
          include_suppressed: bool = False) -> list["Diagnostic"]:
    """Apply the file's pragmas to ``diagnostics`` and add MLD002/MLD003 findings.

    Returns the kept diagnostics (plus, with ``include_suppressed``, the suppressed ones with
    ``suppression`` set). With ``inline=False`` (``--no-inline-suppressions``) nothing is
    suppressed and no MLD003 is reported; malformed pragmas are still MLD002.
    """
    pragmas, invalid = parse_pragmas(df, source, metas, make)
    if INVALID_PRAGMA not in selected:
        invalid = []
    if not inline:
        return diagnostics + invalid
    if not pragmas:
        return diagnostics + invalid
    kept, suppressed = _suppress(diagnostics, pragmas)
    meta_kept, meta_suppressed = _suppress(invalid, pragmas, ("ignore-stage", "ignore-file"))
    unused: list["Diagnostic"] = []
    if UNUSED_PRAGMA in selected:
        for p in pragmas:
            d = _unused(p, source, selected, metas, make)
            if d is not None:
                unused.append(d)
    unused_kept, unused_suppressed = _suppress(unused, pragmas, ("ignore-stage", "ignore-file"))
    out = kept + meta_kept + unused_kept
    if include_suppressed:
        out += suppressed + meta_suppressed + unused_suppressed
    return out
