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
