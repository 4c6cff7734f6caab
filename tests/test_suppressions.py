"""Inline suppressions: `# mldlint: ignore=`, `ignore-stage=`, `ignore-file=`, hadolint's
pragmas, MLD002 invalid-pragma and MLD003 unused-pragma (with its fix)."""

from __future__ import annotations

import re
import textwrap

import pytest

from conftest import ROOT
from mldlint.engine import lint_source
from mldlint.registry import default_selection, load_all
from mldlint.source import SourceFile
from mldlint.suppressions import HADOLINT_MAP, hadolint_map

METAS = load_all()
DEFAULT = default_selection(METAS) | {"MLD002", "MLD003"}


def lint(text: str, selected=None, **kw):
    src = SourceFile.from_text(textwrap.dedent(text), path="Dockerfile")
    return lint_source(src, DEFAULT if selected is None else selected, **kw)


def rules_at(diags):
    return sorted((d.rule, d.line) for d in diags)


def apply_fix(text: str, fix) -> str:
    for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


PIP = """\
FROM python:3.11-slim
{pragma}
RUN pip install torch
RUN pip install numpy
"""


def test_without_pragma_both_pip_rules_fire_twice():
    found = rules_at(lint(PIP.format(pragma="")))
    assert ("MLD310", 3) in found and ("MLD310", 4) in found
    assert ("MLD311", 3) in found and ("MLD311", 4) in found


@pytest.mark.parametrize("pragma", [
    "# mldlint: ignore=MLD310,pip-unpinned -- reviewed",
    "# mldlint: ignore=MLD310, MLD311",
    "#mldlint:ignore=mld310,pip-unpinned",
    "# hadolint ignore=DL3042,DL3013",
])
def test_ignore_applies_to_the_next_instruction_only(pragma):
    found = rules_at(lint(PIP.format(pragma=pragma)))
    assert ("MLD310", 3) not in found and ("MLD311", 3) not in found
    assert ("MLD310", 4) in found and ("MLD311", 4) in found
    assert not [r for r, _ in found if r in ("MLD002", "MLD003")]


def test_ignore_inside_a_continuation_applies_to_that_instruction():
    text = """\
    FROM python:3.11-slim
    RUN pip install torch \\
      # mldlint: ignore=MLD310
      && echo done
    """
    found = rules_at(lint(text))
    assert ("MLD310", 2) not in found and ("MLD311", 2) in found


def test_ignore_stage_covers_the_whole_stage_and_no_other():
    text = """\
    # mldlint: ignore-stage=MLD310
    FROM python:3.11-slim AS build
    RUN pip install torch
    RUN pip install numpy
    FROM python:3.11-slim
    RUN pip install scipy
    """
    found = rules_at(lint(text))
    assert [x for x in found if x[0] == "MLD310"] == [("MLD310", 6)]


def test_ignore_file_and_hadolint_global():
    for pragma in ("# mldlint: ignore-file=pip-no-cache-dir", "# hadolint global ignore=DL3042"):
        text = "FROM python:3.11-slim\nRUN pip install torch\n" + pragma + "\nRUN pip install x\n"
        found = rules_at(lint(text))
        assert not [x for x in found if x[0] in ("MLD310", "MLD002", "MLD003")], pragma


def test_suppressed_findings_are_returned_marked_on_request():
    text = PIP.format(pragma="# mldlint: ignore=MLD310 -- cache mount in CI")
    found = lint(text, include_suppressed=True)
    sup = [d for d in found if d.suppression is not None]
    assert [(d.rule, d.line, d.suppression) for d in sup] == [("MLD310", 3, "cache mount in CI")]


def test_no_inline_suppressions_keeps_everything_and_reports_no_unused():
    text = PIP.format(pragma="# mldlint: ignore=MLD310,MLD303")
    found = rules_at(lint(text, inline_suppressions=False))
    assert ("MLD310", 3) in found
    assert not [x for x in found if x[0] == "MLD003"]


@pytest.mark.parametrize("pragma,message", [
    ("# mldlint: ignore=MLD999", "unknown rule 'MLD999'"),
    ("# mldlint: ignore=pip-no-cache", "unknown rule 'pip-no-cache'"),
    ("# mldlint ignore=MLD310", "with a colon"),
    ("# mldlint: ignor=MLD310", "unknown mldlint pragma 'ignor'"),
    ("# mldlint: ignore=", "names no rules"),
    ("# mldlint: ignore=MLD310 MLD311", "unexpected 'MLD311'"),
    ("# mldlint: ignore=MLD004", "cannot be suppressed"),
    ("# mldlint: ignore-stage=MLD310", "must be above a FROM"),
    ("# mldlint: whatever", "expected `ignore=`"),
])
def test_invalid_pragmas_are_mld002(pragma, message):
    found = lint(PIP.format(pragma=pragma))
    bad = [d for d in found if d.rule == "MLD002"]
    assert len(bad) == 1 and bad[0].line == 2, [d.message for d in found]
    assert message in bad[0].message
    assert bad[0].severity == "error"


def test_comments_that_only_mention_mldlint_are_not_pragmas():
    found = lint(PIP.format(pragma="# mldlint is run in CI; hadolint too"))
    assert not [d for d in found if d.rule in ("MLD002", "MLD003")]


def test_ignore_at_the_end_of_the_file_is_invalid():
    found = lint("FROM python:3.11-slim\n# mldlint: ignore=MLD310\n")
    assert [d.rule for d in found if d.rule == "MLD002"] == ["MLD002"]


def test_unused_pragma_with_fix_removing_the_line():
    text = "FROM python:3.11-slim\n# mldlint: ignore=MLD303 -- old\nRUN pip install --no-cache-dir torch==2.3.1\n"
    found = lint(text)
    unused = [d for d in found if d.rule == "MLD003"]
    assert len(unused) == 1 and unused[0].line == 2
    assert "MLD303 (apt-no-install-recommends)" in unused[0].message
    fix = unused[0].fix
    assert fix.applicability == "safe"
    fixed = apply_fix(text, fix)
    assert fixed == "FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.3.1\n"
    # the fixed file is clean of MLD003 (idempotent)
    assert not [d for d in lint(fixed) if d.rule == "MLD003"]


def test_partly_unused_pragma_fix_removes_only_the_unused_rules():
    text = "FROM python:3.11-slim\n# mldlint: ignore=MLD310,MLD303 -- r\nRUN pip install torch==2.3.1\n"
    found = lint(text)
    unused = [d for d in found if d.rule == "MLD003"]
    assert len(unused) == 1 and "MLD303" in unused[0].message and "MLD310 (" not in unused[0].message
    fixed = apply_fix(text, unused[0].fix)
    assert "# mldlint: ignore=MLD310 -- r\n" in fixed
    assert not [d for d in lint(fixed) if d.rule in ("MLD003", "MLD310")]


def test_unused_only_for_selected_rules():
    text = "FROM python:3.11-slim\n# mldlint: ignore=MLD303\nRUN echo hi\n"
    assert [d.rule for d in lint(text) if d.rule == "MLD003"] == ["MLD003"]
    assert not [d for d in lint(text, DEFAULT - {"MLD303"}) if d.rule == "MLD003"]
    assert not [d for d in lint(text, DEFAULT - {"MLD003"}) if d.rule == "MLD003"]


def test_unused_hadolint_pragmas_are_not_reported():
    text = "FROM python:3.11-slim\n# hadolint ignore=DL3008,DL3015,SC2086\nRUN echo hi\n"
    assert not [d for d in lint(text) if d.rule in ("MLD002", "MLD003")]


def test_mld003_can_be_silenced_for_a_file():
    text = ("# mldlint: ignore-file=unused-pragma\nFROM python:3.11-slim\n"
            "# mldlint: ignore=MLD303\nRUN echo hi\n")
    assert not [d for d in lint(text) if d.rule == "MLD003"]


def test_crashes_cannot_be_suppressed(monkeypatch):
    from mldlint.rules import base

    def boom(df, model, ctx):
        raise RuntimeError("boom")
        yield

    monkeypatch.setitem(base.CHECKS, "MLD310", boom)
    text = "# mldlint: ignore-file=MLD310\nFROM python:3.11-slim\nRUN pip install torch\n"
    found = lint(text)
    assert [d.rule for d in found if d.rule == "MLD004"] == ["MLD004"]


# ---------------------------------------------------------------------- the hadolint table
def _catalogue_dl_map():
    rules_md = ROOT.parent / "shared" / "RULES.md"
    if not rules_md.exists():
        pytest.skip("../shared/RULES.md is not there")
    out: dict[str, set[str]] = {}
    for line in rules_md.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| MLD"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if "different" in cells[5]:
            continue
        for dl in re.findall(r"\bDL\d{4}\b", cells[5]):
            out.setdefault(dl, set()).add(cells[0])
    return out


def test_hadolint_table_matches_the_catalogue():
    assert {k: set(v) for k, v in HADOLINT_MAP.items()} == _catalogue_dl_map()


def test_hadolint_table_covers_the_yaml_peers():
    merged = hadolint_map(METAS)
    for rid, meta in METAS.items():
        for peer in meta.peers:
            for dl in re.findall(r"\bDL\d{4}\b", peer):
                if "different" not in peer:
                    assert rid in HADOLINT_MAP.get(dl, ()), (rid, dl)
                assert rid in merged[dl]


def test_readme_lists_the_hadolint_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (DL\d{4}) \| ([^|]+) \|", readme, re.M))
    assert {k: tuple(x.strip() for x in v.split(",")) for k, v in rows.items()} == HADOLINT_MAP
