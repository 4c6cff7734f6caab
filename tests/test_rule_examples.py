"""Every example in rules/<ID>.yaml is a test: the bad Dockerfile makes the rule fire, the good
one does not. Examples of rules without a check yet are skipped (reported as skips)."""

from __future__ import annotations

import pytest

from mldlint.engine import lint_source
from mldlint.registry import default_selection, implemented, load_all
from mldlint.source import SourceFile

METAS = load_all()
IMPLEMENTED = set(implemented(METAS))


def _cases():
    for rid, meta in METAS.items():
        for n, ex in enumerate(meta.examples or []):
            for kind in ("bad", "good"):
                if ex.get(kind) is not None:
                    yield pytest.param(rid, kind, ex, id=f"{rid}-{n}-{kind}")


def _context(tmp_path, example):
    files = example.get("context_files")
    if files is None:
        return None
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(tmp_path)


@pytest.mark.parametrize("rule_id,kind,example", list(_cases()))
def test_rule_example(rule_id, kind, example, tmp_path):
    if rule_id not in IMPLEMENTED:
        pytest.skip(f"{rule_id} has no check yet")
    source = SourceFile.from_text(example[kind], path="Dockerfile")
    selected = {rule_id, "MLD004"}
    if rule_id in ("MLD002", "MLD003"):  # pragma rules judge pragmas about the other rules
        selected |= default_selection(METAS)
    # an example may configure the rule (MLD206 does nothing without trusted-registries)
    options = {rule_id: {**METAS[rule_id].options, **example.get("options", {})}}
    found = lint_source(source, selected, _context(tmp_path, example), options=options)
    crashes = [d.message for d in found if d.rule == "MLD004"]
    assert crashes == []
    hits = [d for d in found if d.rule == rule_id]
    if kind == "bad":
        assert hits, f"{rule_id} did not fire on its bad example:\n{example[kind]}"
    else:
        assert hits == [], f"{rule_id} fired on its good example: {[d.message for d in hits]}"


def _fixed_files_cases():
    for rid, meta in METAS.items():
        for n, ex in enumerate(meta.examples or []):
            if ex.get("fixed_files") is not None:
                yield pytest.param(rid, ex, id=f"{rid}-{n}-fixed_files")


@pytest.mark.parametrize("rule_id,example", list(_fixed_files_cases()))
def test_rule_example_fixed_files(rule_id, example, tmp_path):
    """``fixed_files`` is what the fix makes of second files of the build context (a
    ``.dockerignore``); the Dockerfile itself ends as ``fixed`` (unchanged when not given)."""
    import os

    from mldlint.fixer import fix_source

    if rule_id not in IMPLEMENTED:
        pytest.skip(f"{rule_id} has no check yet")
    context = _context(tmp_path, example) or str(tmp_path)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(example["bad"])
    source = SourceFile.from_text(example["bad"], path=str(dockerfile))
    options = {rule_id: {**METAS[rule_id].options, **example.get("options", {})}}
    result = fix_source(source, {rule_id}, context, unsafe=True, options=options)
    assert result.guard_tripped is None and result.refused == []
    assert result.text == example.get("fixed", example["bad"])
    written = {os.path.relpath(c.path, context): c.after.decode("utf-8")
               for c in result.other_files}
    assert written == example["fixed_files"]
