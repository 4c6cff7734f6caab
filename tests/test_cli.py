"""CLI tests: what a user sees (output lines, JSON document, exit codes) and file discovery.

Findings come from fake checks registered under MLD9xx IDs (not in the catalogue) with fake
metadata added to the real registry's (the real rules are removed for these tests), so these
tests do not depend on the real rules. Tests marked ``needs_parser`` use only the real parser (MLD001 on
an empty file) and are skipped until ``mldlint.parser.parse`` is importable; the fake checks
themselves run on the real parser's output too, which is why the fixture needs it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldlint import __version__, engine
from mldlint.cli import cli
from mldlint.discovery import discover, is_dockerfile_name
from mldlint.fixer import Edit, Fix
from mldlint.rules.base import CHECKS, Violation

try:
    from mldlint.parser import parse as _real_parse  # noqa: F401

    HAVE_PARSER = True
except ImportError:  # pragma: no cover - until the parser lands
    HAVE_PARSER = False

needs_parser = pytest.mark.skipif(not HAVE_PARSER, reason="needs the real parser")

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- fakes
def _words(ctx, word):
    text = ctx.source.text
    i = text.find(word)
    while i != -1:
        yield i, i + len(word)
        i = text.find(word, i + 1)


def bad_check(df, model, ctx):
    for s, e in _words(ctx, "BAD"):
        yield Violation((s, e), "BAD is bad")


def note_check(df, model, ctx):
    for s, e in _words(ctx, "NOTE"):
        yield Violation((s, e), "a note")


def fixme_check(df, model, ctx):
    for s, e in _words(ctx, "FIXME"):
        yield Violation((s, e), "FIXME left", fix=Fix((Edit(s, e, "DONE"),), "safe", "Resolve"))


def ignorefile_check(df, model, ctx):
    for s, e in _words(ctx, "IGNORE"):
        target = os.path.join(ctx.context_dir or ".", ".dockerignore")
        yield Violation((s, e), "add a .dockerignore entry",
                        fix=Fix((Edit(2, 4, "x\n", path=target),), "unsafe", "Ignore it"))


FAKE_RULES = {
    # id: (name, severity, category, default_enabled, check)
    "MLD901": ("test-bad", "warning", "packages", True, bad_check),
    "MLD902": ("test-note", "info", "runtime", True, note_check),
    "MLD903": ("test-fixme", "error", "security", True, fixme_check),
    "MLD904": ("test-ignorefile", "info", "layers", False, ignorefile_check),
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Fake checks + metadata (only they run), cwd = a fresh temporary folder."""
    if not HAVE_PARSER:
        pytest.skip("needs the real parser")
    from mldlint import registry

    metas = dict(registry.load_all())
    template = metas["MLD001"]
    for rid, (name, sev, cat, default, fn) in FAKE_RULES.items():
        metas[rid] = dataclasses.replace(template, id=rid, name=name, severity=sev,
                                         category=cat, default_enabled=default, title=name)
        monkeypatch.setitem(CHECKS, rid, fn)
    monkeypatch.setattr(engine, "_metas_cache", metas)
    # only the fake checks run: the real rules are tested elsewhere
    import mldlint.rules  # noqa: F401  (registers the real checks, which are then removed)

    for rid in [r for r in CHECKS if r not in FAKE_RULES]:
        monkeypatch.delitem(CHECKS, rid)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("MLDLINT_DEBUG", raising=False)
    return tmp_path


def run(*args, input=None, env=None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


def write(path, text):
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


CLEAN = "FROM python:3.11-slim\nRUN echo hi\n"


# ---------------------------------------------------------------------- text output, exit codes
def test_clean_file_exits_0(env):
    write("Dockerfile", CLEAN)
    r = run("check", "Dockerfile")
    assert r.exit_code == 0, r.output
    assert r.stdout == "All checks passed (1 file).\n"


def test_no_path_means_current_folder(env):
    write("sub/Dockerfile.gpu", "FROM x\nRUN echo BAD\n")
    r = run("check")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == "sub/Dockerfile.gpu:2:10: MLD901 warning BAD is bad"


def test_text_line_format_and_summary(env):
    write("Dockerfile", "FROM x\nRUN echo BAD NOTE\nRUN echo FIXME\n")
    r = run("check", "Dockerfile")
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        "Dockerfile:2:10: MLD901 warning BAD is bad",
        "Dockerfile:2:14: MLD902 info a note",
        "Dockerfile:3:10: MLD903 error FIXME left [*]",
        "Found 3 problems (1 error, 1 warning, 1 info) in 1 file; 1 fixable with --fix.",
    ]


def test_summary_counts_plural_files(env):
    write("a/Dockerfile", "FROM x\nRUN BAD\n")
    write("b/Dockerfile", "FROM x\nRUN BAD BAD\n")
    r = run("check", ".")
    assert r.stdout.splitlines()[-1] == (
        "Found 3 problems (0 errors, 3 warnings, 0 info) in 2 files.")
    assert [ln.split(":")[0] for ln in r.stdout.splitlines()[:-1]] == [
        "a/Dockerfile", "b/Dockerfile", "b/Dockerfile"]


@pytest.mark.parametrize("text,fail_on,code", [
    ("RUN echo NOTE", None, 0),
    ("RUN echo NOTE", "info", 1),
    ("RUN echo NOTE", "warning", 0),
    ("RUN echo BAD", None, 1),
    ("RUN echo BAD", "warning", 1),
    ("RUN echo BAD", "error", 0),
    ("RUN echo FIXME", "error", 1),
    ("RUN echo FIXME", "never", 0),
    ("RUN echo hi", "info", 0),
])
def test_fail_on_thresholds(env, text, fail_on, code):
    write("Dockerfile", f"FROM x\n{text}\n")
    args = ["check", "Dockerfile"] + (["--fail-on", fail_on] if fail_on else [])
    assert run(*args).exit_code == code


def test_missing_file_exits_2_and_others_are_still_linted(env):
    write("Dockerfile", "FROM x\nRUN BAD\n")
    r = run("check", "missing.Dockerfile", "Dockerfile")
    assert r.exit_code == 2
    assert "missing.Dockerfile: error: No such file or directory" in r.stderr
    assert "Dockerfile:2:5: MLD901 warning BAD is bad" in r.stdout


def test_missing_file_exits_2_even_without_findings(env):
    write("Dockerfile", CLEAN)
    r = run("check", "Dockerfile", "nope")
    assert r.exit_code == 2
    assert "nope: error: No such file or directory" in r.stderr


def test_binary_file_exits_2(env):
    Path("Dockerfile").write_bytes(b"FROM x\x00\x01\x02")
    write("ok.Dockerfile", CLEAN)
    r = run("check", ".")
    assert r.exit_code == 2
    assert "Dockerfile: error: binary file" in r.stderr
    assert "No problems found in 1 file. 1 path could not be read." in r.stdout


def test_unreadable_file_exits_2(env):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root can read anything")
    p = write("Dockerfile", CLEAN)
    p.chmod(0)
    try:
        r = run("check", "Dockerfile")
    finally:
        p.chmod(0o644)
    assert r.exit_code == 2
    assert "Dockerfile: error: Permission denied" in r.stderr


def test_unknown_select_is_a_usage_error(env):
    write("Dockerfile", CLEAN)
    r = run("check", "--select", "MLD001,NOPE", "Dockerfile")
    assert r.exit_code == 2
    assert "NOPE" in r.stderr and "Usage:" in r.stderr
    r = run("check", "--ignore", "bogus-name", "Dockerfile")
    assert r.exit_code == 2 and "bogus-name" in r.stderr


def test_folder_without_dockerfiles_is_a_note(env):
    write("docs/README.md", "# hi\n")
    r = run("check", "docs")
    assert r.exit_code == 0
    assert "no Dockerfiles found in docs" in r.stderr


def test_select_ignore_extend_select(env):
    write("Dockerfile", "FROM x\nRUN BAD NOTE IGNORE\n")

    def rules_of(*args):
        r = run("check", "--format", "json", *args, "Dockerfile")
        return sorted({res["rule"] for res in json.loads(r.stdout)["results"]})

    assert rules_of() == ["MLD901", "MLD902"]  # MLD904 is off by default
    assert rules_of("--select", "test-bad") == ["MLD901"]
    assert rules_of("--select", "runtime,packages") == ["MLD901", "MLD902"]
    assert rules_of("--ignore", "MLD901") == ["MLD902"]
    assert rules_of("--extend-select", "MLD904") == ["MLD901", "MLD902", "MLD904"]
    assert rules_of("--select", "ALL", "--ignore", "MLD90") == []
    assert rules_of("--select", "MLD901", "--select", "MLD902") == ["MLD901", "MLD902"]


def test_show_source(env):
    write("Dockerfile", "FROM x\nRUN echo BAD\n")
    r = run("check", "--show-source", "Dockerfile")
    assert r.stdout.splitlines()[:3] == [
        "Dockerfile:2:10: MLD901 warning BAD is bad",
        "2 | RUN echo BAD",
        "  |          ^^^",
    ]


def test_no_color_in_plain_output(env):
    write("Dockerfile", "FROM x\nRUN BAD\n")
    r = run("check", "Dockerfile")
    assert "\x1b[" not in r.output


def test_use_color_rules(monkeypatch):
    from mldlint.reporters.text import use_color

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty()) is True
    assert use_color(Tty(), no_color=True) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    import io

    assert use_color(io.StringIO()) is False


def test_rich_output_has_the_same_text():
    import io

    from mldlint.engine import Diagnostic
    from mldlint.reporters import Report
    from mldlint.reporters.text import write as write_text

    d = Diagnostic("Dockerfile", "MLD901", "test-bad", "warning", "packages", "BAD [x] is bad",
                   (0, 1), 1, 1, 1, 2)
    buf = io.StringIO()
    write_text(Report(files=["Dockerfile"], diagnostics=[d]), buf, color=True)
    out = buf.getvalue()
    assert "\x1b[" in out
    import re

    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert plain.splitlines()[0] == "Dockerfile:1:1: MLD901 warning BAD [x] is bad"


# ---------------------------------------------------------------------- JSON
RESULT_KEYS = ["path", "line", "column", "end_line", "end_column", "rule", "name", "severity",
               "category", "message", "fix"]


def test_json_document(env):
    write("b/Dockerfile", "FROM x\nRUN NOTE BAD\n")
    write("a/api.Dockerfile", "FROM x\nRUN FIXME\n")
    write("a/Dockerfile", "FROM x\nRUN BAD\n")
    r = run("check", "--format", "json", ".", "missing")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert list(doc) == ["schema_version", "tool", "results", "summary"]
    assert doc["schema_version"] == 1
    assert doc["tool"] == {"name": "mldlint", "version": __version__}
    assert all(list(res) == RESULT_KEYS for res in doc["results"])
    assert [(x["path"], x["line"], x["column"], x["rule"]) for x in doc["results"]] == [
        ("a/Dockerfile", 2, 5, "MLD901"),
        ("a/api.Dockerfile", 2, 5, "MLD903"),
        ("b/Dockerfile", 2, 5, "MLD902"),
        ("b/Dockerfile", 2, 10, "MLD901"),
    ]
    first = doc["results"][0]
    assert first == {"path": "a/Dockerfile", "line": 2, "column": 5, "end_line": 2,
                     "end_column": 8, "rule": "MLD901", "name": "test-bad",
                     "severity": "warning", "category": "packages", "message": "BAD is bad",
                     "fix": None}
    assert doc["results"][1]["fix"] == {
        "applicability": "safe", "title": "Resolve",
        "edits": [{"path": "a/api.Dockerfile", "line": 2, "column": 5, "end_line": 2,
                   "end_column": 10, "text": "DONE"}]}
    assert doc["summary"] == {
        "files": 3, "findings": 4, "by_severity": {"error": 1, "warning": 2, "info": 1},
        "fixable": 1, "unsafe_fixable": 0, "estimated_savings_bytes": {"fixed": 0, "fix": 0, "unsafe_fixes": 0},
        "unreadable": [{"path": "missing", "reason": "No such file or directory"}]}


def test_json_edit_in_another_file(env):
    write("svc/Dockerfile", "FROM x\nRUN IGNORE\n")
    write("svc/.dockerignore", "abcdef\n")
    write("new/Dockerfile", "FROM x\nRUN IGNORE\n")
    r = run("check", "--format", "json", "--select", "MLD904", ".")
    doc = json.loads(r.stdout)
    edits = {x["path"]: x["fix"]["edits"][0] for x in doc["results"]}
    assert edits["svc/Dockerfile"] == {"path": "svc/.dockerignore", "line": 1, "column": 3,
                                       "end_line": 1, "end_column": 5, "text": "x\n"}
    assert edits["new/Dockerfile"] == {"path": "new/.dockerignore", "line": 1, "column": 1,
                                       "end_line": 1, "end_column": 1, "text": "x\n"}
    assert doc["results"][0]["fix"]["applicability"] == "unsafe"
    assert doc["summary"]["fixable"] == 0  # unsafe fixes are not applied by --fix


def test_json_absolute_paths_become_relative(env):
    p = write("Dockerfile", "FROM x\nRUN BAD\n")
    doc = json.loads(run("check", "--format", "json", str(p.resolve())).stdout)
    assert doc["results"][0]["path"] == "Dockerfile"


def test_json_clean_run(env):
    write("Dockerfile", CLEAN)
    r = run("check", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["results"] == [] and doc["summary"]["files"] == 1


# ---------------------------------------------------------------------- stdin, context
def test_stdin_with_filename(env):
    r = run("check", "-", "--stdin-filename", "svc/Dockerfile", input="FROM x\nRUN BAD\n")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == "svc/Dockerfile:2:5: MLD901 warning BAD is bad"


def test_stdin_default_name(env):
    r = run("check", "-", input="FROM x\nRUN BAD\n")
    assert r.stdout.startswith("-:2:5: MLD901 warning")


def test_context_dir(env, monkeypatch):
    seen = []

    def probe(df, model, ctx):
        seen.append(ctx.context_dir)
        return iter(())

    monkeypatch.setitem(CHECKS, "MLD901", probe)
    write("svc/Dockerfile", CLEAN)
    Path("ctx").mkdir()
    run("check", "svc/Dockerfile")
    run("check", "--context", "ctx", "svc/Dockerfile")
    run("check", "-", input=CLEAN)
    run("check", "-", "--context", "ctx", input=CLEAN)
    write("Dockerfile", CLEAN)
    run("check", "Dockerfile")
    assert seen == ["svc", "ctx", None, "ctx", "."]
    assert run("check", "--context", "nowhere", "Dockerfile").exit_code == 2


# ---------------------------------------------------------------------- internal errors
def test_internal_error_exits_3_without_traceback(env, monkeypatch):
    import mldlint.discovery

    def broken(paths):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(mldlint.discovery, "discover", broken)
    r = run("check", ".")
    assert r.exit_code == 3
    assert "bug" in r.stderr and "RuntimeError: kaboom" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("check", ".", env={"MLDLINT_DEBUG": "1"})
    assert r.exit_code == 3 and "Traceback" in r.stderr


def test_crashing_rule_is_a_finding_not_a_crash(env, monkeypatch):
    def crash(df, model, ctx):
        raise ValueError("nope")
        yield  # pragma: no cover

    monkeypatch.setitem(CHECKS, "MLD901", crash)
    write("Dockerfile", "FROM x\nRUN NOTE\n")
    r = run("check", "Dockerfile")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[:2] == [
        "Dockerfile:1:1: MLD004 error rule MLD901 crashed: ValueError: nope",
        "Dockerfile:2:5: MLD902 info a note",
    ]


# ---------------------------------------------------------------------- parallel
def test_jobs_give_the_same_output(env):
    for i in range(20):
        write(f"d{i:02}/Dockerfile", "FROM x\nRUN BAD\n" if i % 3 else "")
    serial = run("check", "-j", "1", "--format", "json", ".")
    parallel = run("check", "-j", "2", "--format", "json", ".")
    assert serial.exit_code == parallel.exit_code == 1
    assert serial.stdout == parallel.stdout


# ---------------------------------------------------------------------- real parser only
@needs_parser
def test_empty_file_is_mld001(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("Dockerfile", "")
    write("comments.Dockerfile", "# only a comment\n")
    r = run("check", "--select", "MLD001", ".")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Dockerfile:1:1: MLD001 error ")
    assert lines[1].startswith("comments.Dockerfile:") and " MLD001 error " in lines[1]
    assert lines[-1].startswith("Found 2 problems (2 errors, 0 warnings, 0 info) in 2 files")


# ---------------------------------------------------------------------- rules / explain / version
def test_rules_json():
    from mldlint import registry
    from mldlint.docs import rule_as_json

    r = run("rules", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data == [rule_as_json(m) for m in registry.implemented().values()]
    assert {"MLD001", "MLD004"} <= {x["id"] for x in data}
    assert [x["id"] for x in data] == sorted(x["id"] for x in data)


def test_rules_text_table():
    r = run("rules")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SEVERITY", "CATEGORY", "FIX", "DEFAULT", "TITLE"]
    row = next(ln for ln in lines if ln.startswith("MLD001 "))
    assert "syntax-error" in row and "error" in row
    assert len({ln.index("NAME") if i == 0 else None for i, ln in enumerate(lines)}) >= 1
    # aligned: the name column starts at the same place on every line
    col = lines[0].index("NAME")
    assert all(ln[col - 2:col] == "  " and ln[col] != " " for ln in lines)


def test_explain():
    from mldlint import registry
    from mldlint.docs import explain_text

    meta = registry.load_all()["MLD001"]
    for query in ("MLD001", "mld001", "syntax-error"):
        r = run("explain", query)
        assert r.exit_code == 0
        assert r.stdout == explain_text(meta)
    r = run("explain", "MLD999")
    assert r.exit_code == 2 and "MLD999" in r.stderr


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"mldlint {__version__}"


def test_python_dash_m(tmp_path):
    (tmp_path / "Dockerfile").write_text(CLEAN)
    r = subprocess.run([sys.executable, "-m", "mldlint", "--version"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"mldlint {__version__}"
    r = subprocess.run([sys.executable, "-m", "mldlint", "check", "--select", "MLD001",
                        str(tmp_path / "nope")], capture_output=True, text=True)
    assert r.returncode == 2 and "No such file or directory" in r.stderr


def test_cli_import_is_light():
    code = ("import sys, mldlint.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rich', 'ruamel', 'tree_sitter', 'tree_sitter_bash', 'pathspec') "
            "or m in ('mldlint.engine', 'mldlint.registry', 'mldlint.rules')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# ---------------------------------------------------------------------- discovery
@pytest.mark.parametrize("name,expected", [
    ("Dockerfile", True), ("Dockerfile.gpu", True), ("Dockerfile-dev", True),
    ("api.Dockerfile", True), ("api.dockerfile", True), ("Containerfile", True),
    ("Containerfile.cuda", True), ("README.md", False), ("dockerfile", False),
    ("Dockerfiles", False), ("MyDockerfile", False), ("Dockerfile.dockerignore", False),
    ("docker-compose.yml", False),
])
def test_dockerfile_names(name, expected):
    assert is_dockerfile_name(name) is expected


def test_discover_walks_and_skips(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for p in ["Dockerfile", "Dockerfile.gpu", "svc/api.Dockerfile", "svc/Containerfile",
              "svc/deep/er/Dockerfile-dev", "README.md", "svc/notes.txt",
              ".git/Dockerfile", "node_modules/x/Dockerfile", ".venv/Dockerfile",
              "venv/Dockerfile", ".tox/Dockerfile", "__pycache__/Dockerfile",
              "env/pyvenv.cfg", "env/lib/Dockerfile", ".github/Dockerfile"]:
        write(p, "FROM x\n")
    files, problems = discover(["."])
    assert problems == []
    assert files == [".github/Dockerfile", "Dockerfile", "Dockerfile.gpu", "svc/Containerfile",
                     "svc/api.Dockerfile", "svc/deep/er/Dockerfile-dev"]
    # explicit files are taken whatever their name; missing paths are problems
    files, problems = discover(["svc/notes.txt", "nope", "svc"])
    assert files == ["svc/Containerfile", "svc/api.Dockerfile", "svc/deep/er/Dockerfile-dev",
                     "svc/notes.txt"]
    assert problems == [("nope", "No such file or directory")]


def test_discover_symlink_loop_does_not_hang(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("a/Dockerfile", "FROM x\n")
    os.symlink("..", "a/loop")
    os.symlink("a", "link-to-a")
    files, problems = discover(["."])
    assert files == ["a/Dockerfile"] and problems == []
    # a symlinked folder given explicitly is walked
    assert discover(["link-to-a"])[0] == ["link-to-a/Dockerfile"]


def test_discover_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for p in ["z/Dockerfile", "a/Dockerfile", "m/Dockerfile", "Dockerfile"]:
        write(p, "FROM x\n")
    assert discover(["z", "."])[0] == discover([".", "z"])[0] == [
        "Dockerfile", "a/Dockerfile", "m/Dockerfile", "z/Dockerfile"]


def test_discover_broken_symlink(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("missing-target", "Dockerfile")
    assert discover(["."]) == ([], [])
    files, problems = discover(["Dockerfile"])
    assert files == [] and problems[0][0] == "Dockerfile"


def test_closed_output_pipe_is_not_an_internal_error(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nRUN pip install torch\n" * 200)
    proc = subprocess.run(f'"{sys.executable}" -m mldlint check --format json Dockerfile | head -c 10',
                          shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert "internal error" not in proc.stderr
