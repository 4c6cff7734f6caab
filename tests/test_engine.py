"""Engine tests: MLD001 from parse errors, crash isolation (MLD004), severity stamping,
sorting, de-duplication, a model that cannot be built.

Most tests use a fake ``parse`` (monkeypatched) and fake checks registered under MLD9xx IDs
(not in the catalogue), so they do not depend on the parser, the model or the real rules.
Tests marked ``needs_parser`` use the real parser and are skipped until it is importable.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from mldlint import engine
from mldlint.engine import Diagnostic, lint_source
from mldlint.fixer import Edit, Fix
from mldlint.rules.base import CHECKS, Violation
from mldlint.source import SourceFile

try:
    from mldlint.parser import parse as _real_parse  # noqa: F401

    HAVE_PARSER = True
except ImportError:  # pragma: no cover - until the parser lands
    HAVE_PARSER = False

needs_parser = pytest.mark.skipif(not HAVE_PARSER, reason="needs the real parser")


# ---------------------------------------------------------------------- fakes
@dataclass
class FakeError:
    message: str
    span: tuple[int, int]


@dataclass
class FakeDockerfile:
    source: SourceFile
    errors: list[FakeError] = field(default_factory=list)


@dataclass
class FakeMeta:
    id: str
    name: str
    severity: str
    category: str
    default_enabled: bool = True


METAS = {
    "MLD001": FakeMeta("MLD001", "syntax-error", "error", "meta"),
    "MLD004": FakeMeta("MLD004", "internal-error", "error", "meta"),
    "MLD901": FakeMeta("MLD901", "test-word", "warning", "packages"),
    "MLD902": FakeMeta("MLD902", "test-crash", "warning", "security"),
    "MLD903": FakeMeta("MLD903", "test-model", "info", "ml"),
}


def word_check(df, model, ctx):
    """Flags every ``BAD`` (warning) and every ``WORSE`` (error, overriding the default)."""
    text = ctx.source.text
    for word, sev in (("BAD", None), ("WORSE", "error")):
        i = text.find(word)
        while i != -1:
            yield Violation((i, i + len(word)), f"found {word}", severity=sev)
            i = text.find(word, i + 1)


def crash_check(df, model, ctx):
    yield Violation((0, 1), "partial output that must be dropped")
    raise ValueError("boom\nsecond line")


def model_check(df, model, ctx):
    for stage in model.stages:  # needs the model
        yield Violation((0, 0), f"stage {stage}")


def set_model(monkeypatch, build_model):
    """Replace ``mldlint.model`` (the real one may be missing or half-written meanwhile)."""
    monkeypatch.setitem(sys.modules, "mldlint.model", types.SimpleNamespace(build_model=build_model))


@pytest.fixture
def fake_env(monkeypatch):
    """A fake parser (errors from lines starting with ``!``), a fake model and fake checks."""
    import mldlint.parser

    def fake_parse(source):
        errors = []
        for ln in range(1, source.line_count + 1):
            if source.line_text(ln).startswith("!"):
                errors.append(FakeError("bad line", (source.line_start(ln), source.line_end(ln))))
        return FakeDockerfile(source, errors)

    class FakeModel:
        stages = ["s0"]

    monkeypatch.setattr(mldlint.parser, "parse", fake_parse)
    set_model(monkeypatch, lambda df: FakeModel())
    monkeypatch.setitem(CHECKS, "MLD901", word_check)
    monkeypatch.setitem(CHECKS, "MLD902", crash_check)
    monkeypatch.setitem(CHECKS, "MLD903", model_check)
    return monkeypatch


def lint(text, selected=("MLD001", "MLD004", "MLD901"), context_dir=None, **kw):
    return lint_source(SourceFile.from_text(text, path="Dockerfile"), set(selected),
                       context_dir, metas=METAS, **kw)


def brief(diags):
    return [(d.rule, d.line, d.column, d.severity, d.message) for d in diags]


# ---------------------------------------------------------------------- tests
def test_parse_errors_become_mld001(fake_env):
    diags = lint("FROM x\n!oops\n")
    assert brief(diags) == [("MLD001", 2, 1, "error", "bad line")]
    d = diags[0]
    assert (d.end_line, d.end_column) == (2, 6)
    assert d.name == "syntax-error" and d.category == "meta" and d.path == "Dockerfile"


def test_mld001_only_when_selected(fake_env):
    assert lint("!oops\n", selected={"MLD901"}) == []


def test_violation_fields_and_severity(fake_env):
    diags = lint("FROM x\nRUN BAD WORSE\n")
    assert brief(diags) == [("MLD901", 2, 5, "warning", "found BAD"),
                            ("MLD901", 2, 9, "error", "found WORSE")]
    assert diags[0].name == "test-word" and diags[0].category == "packages"
    assert diags[0].span == (11, 14)
    assert (diags[0].end_line, diags[0].end_column) == (2, 8)


def test_severity_override_from_configuration(fake_env):
    diags = lint("BAD WORSE", severity_overrides={"MLD901": "info"})
    assert [d.severity for d in diags] == ["info", "info"]


def test_crashing_rule_becomes_one_mld004_and_others_run(fake_env):
    diags = lint("BAD\n", selected={"MLD004", "MLD901", "MLD902"})
    assert brief(diags) == [
        ("MLD004", 1, 1, "error", "rule MLD902 crashed: ValueError: boom"),
        ("MLD901", 1, 1, "warning", "found BAD"),
    ]
    assert diags[0].name == "internal-error"


def test_mld004_reported_even_if_not_selected(fake_env):
    diags = lint("x\n", selected={"MLD902"})
    assert [d.rule for d in diags] == ["MLD004"]


def test_model_crash_reports_mld004_and_skips_the_rules(fake_env):
    def broken(df):
        raise RuntimeError("no model today")

    set_model(fake_env, broken)
    diags = lint("BAD\n", selected={"MLD001", "MLD004", "MLD901", "MLD903"})
    assert brief(diags) == [
        ("MLD004", 1, 1, "error", "image model crashed: RuntimeError: no model today"),
    ]


def test_model_rules_run_when_the_model_builds(fake_env):
    diags = lint("x\n", selected={"MLD903"})
    assert brief(diags) == [("MLD903", 1, 1, "info", "stage s0")]


def test_model_not_built_when_no_check_selected(fake_env):
    def broken(df):
        raise AssertionError("must not be called")

    set_model(fake_env, broken)
    assert brief(lint("!x\n", selected={"MLD001"})) == [("MLD001", 1, 1, "error", "bad line")]


def test_parser_crash_is_contained(fake_env):
    import mldlint.parser

    def broken(source):
        raise KeyError("x")

    fake_env.setattr(mldlint.parser, "parse", broken)
    assert brief(lint("FROM x\n")) == [("MLD004", 1, 1, "error", "parser crashed: KeyError: 'x'")]


def test_sorted_and_deduplicated(fake_env):
    def dup(df, model, ctx):
        yield Violation((7, 8), "b")
        yield Violation((0, 1), "a")
        yield Violation((7, 8), "b")  # identical: dropped
        yield Violation((7, 8), "c")  # other message: kept

    fake_env.setitem(CHECKS, "MLD904", dup)
    diags = lint("BAD\n!x\nBAD\n", selected={"MLD001", "MLD901", "MLD904"})
    assert [(d.line, d.column, d.rule, d.message) for d in diags] == [
        (1, 1, "MLD901", "found BAD"),
        (1, 1, "MLD904", "a"),
        (2, 1, "MLD001", "bad line"),
        (3, 1, "MLD901", "found BAD"),
        (3, 1, "MLD904", "b"),
        (3, 1, "MLD904", "c"),
    ]


def test_context_dir_and_options_reach_the_rule(fake_env):
    seen = {}

    def probe(df, model, ctx):
        seen.update(context=ctx.context_dir, options=ctx.options, source=ctx.source.path)
        return iter(())

    fake_env.setitem(CHECKS, "MLD905", probe)
    lint("x", selected={"MLD905"}, context_dir="/ctx", options={"MLD905": {"k": 1}})
    assert seen == {"context": "/ctx", "options": {"k": 1}, "source": "Dockerfile"}


def test_fix_is_kept(fake_env):
    fix = Fix((Edit(0, 3, "GOOD"),), "safe", "Replace")

    def fixer(df, model, ctx):
        yield Violation((0, 3), "fixable", fix=fix)

    fake_env.setitem(CHECKS, "MLD906", fixer)
    (d,) = lint("BAD", selected={"MLD906"})
    assert d.fix is fix and d.fixable


def test_spans_are_clamped_to_the_text(fake_env):
    def wild(df, model, ctx):
        yield Violation((-5, 999), "everything")

    fake_env.setitem(CHECKS, "MLD907", wild)
    (d,) = lint("ab\ncd", selected={"MLD907"})
    assert d.span == (0, 5) and (d.line, d.column, d.end_line, d.end_column) == (1, 1, 2, 3)


def test_unknown_rule_metadata_falls_back():
    info = engine.rule_info("MLD399", {})
    assert (info.name, info.severity, info.category) == ("mld399", "warning", "packages")
    assert engine.rule_info("MLD004", {}).name == "internal-error"


def test_diagnostic_is_a_plain_record():
    d = Diagnostic("p", "MLD001", "syntax-error", "error", "meta", "m", (0, 0), 1, 1, 1, 1)
    assert d.fix is None and not d.fixable and d.sort_key == (1, 1, "MLD001")


# ---------------------------------------------------------------------- real parser
@needs_parser
def test_real_parser_empty_file_is_mld001():
    diags = lint_source(SourceFile.from_text("", path="Dockerfile"), {"MLD001"}, None)
    assert [(d.rule, d.line, d.column, d.severity) for d in diags] == [("MLD001", 1, 1, "error")]
    assert "no instructions" in diags[0].message


@needs_parser
def test_real_parser_valid_file_has_no_mld001():
    src = SourceFile.from_text("FROM python:3.11-slim\nRUN echo hi\n", path="Dockerfile")
    assert lint_source(src, {"MLD001"}, None) == []
