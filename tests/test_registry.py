"""Rule metadata (rules/<ID>.yaml): loading, validation, agreement with the catalogue
(shared/RULES.md), selectors and ruff-style select/ignore/extend-select."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mldlint import docs, registry
from mldlint.registry import RuleMeta, default_selection, load_all, resolve_selectors, select

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "rules"
CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "RULES.md"
ROW = re.compile(r"^\|\s*(MLD\d{3})\s*\|\s*([a-z0-9-]+)\s*\|\s*([EWI/]+)\s*\|\s*([a-z/-]+)\s*\|")
SEV = {"E": "error", "W": "warning", "I": "info"}
METAS = load_all()


def catalogue() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """ID -> (name, default severity word, fix applicabilities) from RULES.md's tables."""
    if not CATALOGUE.is_file():
        pytest.skip("shared/RULES.md not available")
    rows = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rid, name, sev, fix = m.groups()
            fixes = () if fix == "-" else tuple(fix.split("/"))
            rows[rid] = (name, SEV[sev.split("/")[0]], fixes)
    assert len(rows) > 50, "could not parse the catalogue table"
    return rows


# ---------------------------------------------------------------------- loading


def test_rules_dir_is_the_repository_folder_in_a_checkout():
    assert registry.rules_dir().resolve() == RULES_DIR.resolve()


def test_every_yaml_loads_and_validates():
    files = sorted(p.stem for p in RULES_DIR.glob("*.yaml"))
    assert files, "no rule metadata found"
    assert list(METAS) == files  # one meta per file, ordered by ID
    for rid, meta in METAS.items():
        assert isinstance(meta, RuleMeta)
        assert meta.id == rid
        assert meta.category == registry.CATEGORIES[int(rid[3])]
        assert meta.not_flagged.strip()
        if meta.fix:
            assert meta.fix_notes.strip()


def test_load_all_is_cached():
    assert load_all() is load_all()


def test_metadata_matches_the_catalogue():
    cat = catalogue()
    for rid, meta in METAS.items():
        assert rid in cat, f"{rid} is not in RULES.md"
        name, severity, fixes = cat[rid]
        assert meta.name == name, rid
        assert meta.severity == severity, rid
        assert meta.fix == fixes, rid


def test_examples_are_complete_dockerfiles():
    for rid, meta in METAS.items():
        if rid == "MLD004":
            assert meta.examples == []  # never expected: nothing can show it
            continue
        kinds = {k for ex in meta.examples for k in ("bad", "good") if k in ex}
        assert kinds == {"bad", "good"}, f"{rid} needs bad and good examples"
        if meta.tier == 1:
            assert sum("bad" in ex for ex in meta.examples) >= 2, rid
        for ex in meta.examples:
            for kind in ("bad", "good", "fixed"):
                if kind not in ex:
                    continue
                text = ex[kind]
                assert text.endswith("\n"), (rid, kind)
                first = next(
                    (line for line in text.splitlines()
                     if line.strip() and not line.startswith(("#", "ARG"))),
                    None,
                )
                if first is None:  # comment-only file (MLD001's empty case)
                    assert rid == "MLD001"
                    continue
                if kind == "bad" and rid in ("MLD001", "MLD103"):
                    continue
                assert first.upper().startswith("FROM"), (rid, kind, first)
            if "fixed" in ex:
                assert ex["fixed"] != ex["bad"], rid


def test_context_examples_name_their_build_context():
    meta = METAS.get("MLD405")
    if meta is None:
        pytest.skip("MLD405 has no metadata")
    for ex in meta.examples:
        assert ex.get("context") == "needs-build-context"
        assert isinstance(ex.get("context_files"), dict)
    bad_ctx = [ex["context_files"] for ex in meta.examples if "bad" in ex]
    assert {} in bad_ctx  # no .dockerignore at all
    assert any(".dockerignore" in ex["context_files"] for ex in meta.examples if "good" in ex)


GOOD = """\
id: MLD799
name: sample-rule
title: A sample
severity: warning
category: ml
fix: [safe]
default_enabled: true
tier: 2
peers: []
rationale: |
  Why.
not_flagged: |
  Nothing.
fix_notes: |
  Safe.
examples:
  - bad: |
      FROM x
    good: |
      FROM y
references: [https://docs.docker.com/]
"""


def _write(tmp_path: Path, text: str, name: str = "MLD799.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_load_dir_accepts_a_valid_file(tmp_path):
    metas = registry.load_dir(_write(tmp_path, GOOD))
    meta = metas["MLD799"]
    assert meta.fix == ("safe",) and meta.peers == () and meta.tier == 2
    assert meta.examples == [{"bad": "FROM x\n", "good": "FROM y\n"}]
    hash(meta)  # usable in sets despite the list/dict fields


@pytest.mark.parametrize("old,new", [
    ("severity: warning", "severity: fatal"),
    ("category: ml", "category: packages"),          # not the ID's hundreds digit
    ("category: ml", "category: gpu"),
    ("fix: [safe]", "fix: [auto]"),
    ("fix: [safe]", "fix: safe"),
    ("name: sample-rule", "name: Sample_Rule"),
    ("tier: 2", "tier: 4"),
    ("default_enabled: true", "default_enabled: yes please"),
    ("not_flagged: |\n  Nothing.\n", "not_flagged: ''\n"),
    ("fix_notes: |\n  Safe.\n", ""),                 # required when fix is not empty
    ("title: A sample", "titel: A sample"),          # missing + unknown key
    ("references: [https://docs.docker.com/]", "references: [docs.docker.com]"),
    ("  - bad: |\n      FROM x\n", "  - bad: |\n      FROM x\n    extra: 1\n"),
    ("id: MLD799", "id: MLD798"),                    # does not match the file name
    ("id: MLD799", "id: MLD899"),                    # no category 8
])
def test_invalid_metadata_names_the_file(tmp_path, old, new):
    assert old in GOOD
    with pytest.raises(ValueError, match="MLD799.yaml"):
        registry.load_dir(_write(tmp_path, GOOD.replace(old, new)))


def test_duplicate_names_are_rejected(tmp_path):
    _write(tmp_path, GOOD)
    _write(tmp_path, GOOD.replace("MLD799", "MLD798"), "MLD798.yaml")
    with pytest.raises(ValueError, match="sample-rule"):
        registry.load_dir(tmp_path)


def test_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(ValueError, match="MLD799.yaml"):
        registry.load_dir(_write(tmp_path, "id: [unclosed\n"))


def test_repository_rules_survive_a_copy(tmp_path):
    dest = tmp_path / "rules"
    shutil.copytree(RULES_DIR, dest)
    assert registry.load_dir(dest) == METAS


# ---------------------------------------------------------------------- selection


def _fake_metas() -> dict[str, RuleMeta]:
    template = RuleMeta(
        id="MLD000", name="x", title="t", severity="warning", category="meta", fix=(),
        default_enabled=True, tier=1, peers=(), rationale="r", not_flagged="n", fix_notes="",
        examples=[], references=(),
    )
    rows = [
        ("MLD001", "syntax-error", "meta", True),
        ("MLD303", "apt-no-install-recommends", "packages", True),
        ("MLD304", "apt-lists-not-removed", "packages", True),
        ("MLD310", "pip-no-cache-dir", "packages", True),
        ("MLD322", "conda-unpinned", "packages", False),
        ("MLD401", "dependency-install-after-source-copy", "layers", True),
        ("MLD409", "cache-mount-suggestion", "layers", False),
    ]
    import dataclasses

    return {
        rid: dataclasses.replace(template, id=rid, name=name, category=cat, default_enabled=on)
        for rid, name, cat, on in rows
    }


FAKE = _fake_metas()


@pytest.mark.parametrize("selector,expected", [
    ("MLD303", {"MLD303"}),
    ("mld303", {"MLD303"}),
    ("apt-no-install-recommends", {"MLD303"}),
    ("packages", {"MLD303", "MLD304", "MLD310", "MLD322"}),
    ("MLD3", {"MLD303", "MLD304", "MLD310", "MLD322"}),
    ("MLD30", {"MLD303", "MLD304"}),
    ("mld4", {"MLD401", "MLD409"}),
    ("MLD", set(FAKE)),
    ("ALL", set(FAKE)),
    ("all", set(FAKE)),
])
def test_selectors(selector, expected):
    assert resolve_selectors([selector], FAKE) == expected


@pytest.mark.parametrize("selector", ["MLD799", "MLD9", "no-such-rule", "gpu", "", "MLD3031"])
def test_unknown_selector_raises_naming_it(selector):
    with pytest.raises(ValueError, match=re.escape(repr(selector))):
        resolve_selectors(["MLD303", selector], FAKE)


def test_selectors_union():
    assert resolve_selectors(["MLD303", "layers"], FAKE) == {"MLD303", "MLD401", "MLD409"}
    assert resolve_selectors([], FAKE) == set()


def test_default_selection_leaves_out_off_by_default_rules():
    assert default_selection(FAKE) == set(FAKE) - {"MLD322", "MLD409"}


def test_select_none_means_defaults():
    assert select(None, None, None, FAKE) == default_selection(FAKE)
    assert select(metas=FAKE) == default_selection(FAKE)


def test_select_replaces_the_defaults():
    assert select(["MLD303"], [], [], FAKE) == {"MLD303"}
    assert select([], [], [], FAKE) == set()
    assert select(["ALL"], [], [], FAKE) == set(FAKE)  # includes off-by-default rules


def test_extend_select_adds():
    assert select(None, [], ["MLD409"], FAKE) == default_selection(FAKE) | {"MLD409"}
    assert select(["MLD303"], [], ["layers"], FAKE) == {"MLD303", "MLD401", "MLD409"}


def test_ignore_removes():
    assert select(None, ["packages"], [], FAKE) == {"MLD001", "MLD401"}
    assert select(["ALL"], ["MLD3", "cache-mount-suggestion"], [], FAKE) == {"MLD001", "MLD401"}


def test_more_specific_selector_wins_and_ties_go_to_ignore():
    # ruff: selectors apply from least to most specific
    assert select(["packages"], ["MLD303"], [], FAKE) == {"MLD304", "MLD310", "MLD322"}
    assert select(["MLD303"], ["packages"], [], FAKE) == {"MLD303"}
    assert select(["MLD30"], ["MLD3"], [], FAKE) == {"MLD303", "MLD304"}
    assert select(["ALL"], ["ALL"], [], FAKE) == set()
    assert select(["MLD303"], ["apt-no-install-recommends"], [], FAKE) == set()
    assert select(None, ["MLD3"], ["MLD310"], FAKE) == {"MLD001", "MLD401", "MLD310"}


def test_select_unknown_raises():
    with pytest.raises(ValueError, match="nope"):
        select(None, ["nope"], [], FAKE)
    with pytest.raises(ValueError, match="MLD777"):
        select(["MLD777"], [], [], FAKE)


def test_real_metadata_selects_by_every_kind():
    meta = next(iter(METAS.values()))
    assert resolve_selectors([meta.id, meta.name], METAS) == {meta.id}
    assert resolve_selectors([meta.category], METAS) == {
        rid for rid, m in METAS.items() if m.category == meta.category
    }
    assert resolve_selectors(["ALL"], METAS) == set(METAS)


# ---------------------------------------------------------------------- checks


def test_implemented_includes_engine_rules_and_registered_checks():
    impl = registry.implemented(METAS)
    from mldlint.rules.base import CHECKS

    for rid in ("MLD001", "MLD004"):
        if rid in METAS:
            assert rid in impl
    assert set(impl) == {r for r in METAS if r in CHECKS or r in registry.ENGINE_RULES}
    assert list(impl) == sorted(impl)


def test_every_registered_check_has_metadata():
    assert registry.orphan_checks(METAS) == []


# ---------------------------------------------------------------------- docs


def test_rule_table_is_deterministic_and_complete():
    table = docs.rule_table_markdown(METAS)
    assert table == docs.rule_table_markdown(dict(reversed(list(METAS.items()))))
    lines = table.splitlines()
    assert lines[0] == "| ID | Name | Severity | Fix | Category | Title |"
    assert len(lines) == 2 + len(METAS)
    for line, meta in zip(lines[2:], METAS.values()):
        assert line.startswith(f"| {meta.id} | `{meta.name}` | {meta.severity} |")


def test_update_readme_replaces_only_between_markers():
    text = ("# mldlint\n\nintro\n\n<!-- rules-table:start -->\nold table\n"
            "<!-- rules-table:end -->\n\nafter\n")
    new = docs.update_readme(text, FAKE)
    assert new.startswith("# mldlint\n\nintro\n\n<!-- rules-table:start -->\n| ID |")
    assert new.endswith("|\n<!-- rules-table:end -->\n\nafter\n")
    assert "old table" not in new
    assert docs.update_readme(new, FAKE) == new  # idempotent
    crlf = text.replace("\n", "\r\n")
    assert "\n" not in docs.update_readme(crlf, FAKE).replace("\r\n", "")
    with pytest.raises(ValueError):
        docs.update_readme("no markers\n", FAKE)


def test_docs_main_rewrites_the_file(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- rules-table:start -->\n<!-- rules-table:end -->\n")
    assert docs.main([str(readme)]) == 0
    assert "| MLD" in readme.read_text()
    before = readme.stat().st_mtime_ns
    assert docs.main([str(readme)]) == 0
    assert readme.stat().st_mtime_ns == before
    (tmp_path / "bad.md").write_text("nothing\n")
    assert docs.main([str(tmp_path / "bad.md")]) == 2


def test_explain_text_covers_every_section():
    for meta in METAS.values():
        text = docs.explain_text(meta)
        assert text.startswith(f"{meta.id} {meta.name}\n{meta.title}\n")
        assert f"Severity: {meta.severity}" in text
        assert f"Category: {meta.category}" in text
        assert "Not flagged" in text and "Why it matters" in text
        if meta.fix:
            assert "Fix safety" in text
        for ex in meta.examples:
            for kind in ("bad", "good"):
                if kind in ex:
                    first = ex[kind].splitlines()[0]
                    assert f"    {first}" in text
        for ref in meta.references:
            assert ref in text


def test_rule_as_json():
    for meta in METAS.values():
        data = docs.rule_as_json(meta)
        assert data == {
            "id": meta.id, "name": meta.name, "severity": meta.severity,
            "fix": list(meta.fix), "category": meta.category, "title": meta.title,
        }
