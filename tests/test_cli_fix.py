"""``mldlint check --fix / --unsafe-fixes / --diff / --show-fixes``: what a user sees.

Uses the fake checks of ``test_fixer`` (only they run, with a fake image model)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldlint import engine
from mldlint.cli import cli

from test_fixer import fakes  # noqa: F401  (fixture)

FAKE_METAS = {
    "MLD901": ("test-fixme", "error"), "MLD902": ("test-no-cache", "warning"),
    "MLD903": ("test-add", "warning"), "MLD904": ("test-latest", "info"),
    "MLD906": ("test-breaker", "warning"), "MLD907": ("test-ping", "warning"),
    "MLD908": ("test-pong", "warning"), "MLD911": ("test-ignorefile", "warning"),
}


@pytest.fixture
def env(fakes, monkeypatch, tmp_path):  # noqa: F811
    import dataclasses

    from mldlint import registry

    metas = dict(registry.load_all())
    template = metas["MLD001"]
    for rid, (name, sev) in FAKE_METAS.items():
        metas[rid] = dataclasses.replace(template, id=rid, name=name, severity=sev,
                                         category="packages", default_enabled=True, title=name)
    monkeypatch.setattr(engine, "_metas_cache", metas)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def run(*args, input=None):
    return CliRunner().invoke(cli, ["check", "--select", "MLD001,MLD901,MLD902,MLD903,MLD904",
                                    *args], input=input)


def put(name, data: bytes) -> Path:
    p = Path(name)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


SRC = b"FROM x:latest\nRUN pip install torch\nADD a b\n"
SAFE = b"FROM x:latest\nRUN pip install --no-cache-dir torch\nADD a b\n"


def test_check_marks_fixable_and_counts(env):
    put("Dockerfile", SRC)
    r = run("Dockerfile")
    assert r.stdout.splitlines() == [
        "Dockerfile:1:8: MLD904 info latest",
        "Dockerfile:2:5: MLD902 warning pip install without --no-cache-dir [*]",
        "Dockerfile:3:1: MLD903 warning ADD",
        "Found 3 problems (0 errors, 2 warnings, 1 info) in 1 file; 1 fixable with --fix "
        "(1 more with --unsafe-fixes).",
    ]


def test_fix_writes_and_reports_what_is_left(env):
    p = put("Dockerfile", SRC)
    os.chmod(p, 0o600)
    r = run("--fix", "Dockerfile")
    assert p.read_bytes() == SAFE
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert r.stdout.splitlines() == [
        "Dockerfile:1:8: MLD904 info latest",
        "Dockerfile:3:1: MLD903 warning ADD",
        "Fixed 1 problem in 1 file.",
        "Found 2 problems (0 errors, 1 warning, 1 info) in 1 file; "
        "1 fixable with --fix --unsafe-fixes.",
    ]
    assert r.exit_code == 1  # the warning left
    assert run("--fix", "--unsafe-fixes", "Dockerfile").exit_code == 0  # only info left
    assert p.read_bytes() == SAFE.replace(b"ADD", b"COPY")


def test_show_fixes_lists_fixes_per_file(env):
    put("a/Dockerfile", b"FROM x\nRUN pip install a && pip install b\n")
    put("b/Dockerfile", b"FROM x\nRUN echo FIXME\n")
    r = run("--fix", "--show-fixes", ".")
    assert r.stdout.splitlines() == [
        "Applied fixes:",
        "  a/Dockerfile:",
        "    2 x MLD902 Add --no-cache-dir",
        "  b/Dockerfile:",
        "    1 x MLD901 Resolve",
        "Fixed 3 problems in 2 files.",
        "All checks passed (2 files).",
    ]
    assert r.exit_code == 0


def test_unchanged_file_is_not_rewritten(env):
    p = put("Dockerfile", b"FROM x\nRUN echo hi\n")
    os.utime(p, (1_000_000, 1_000_000))
    r = run("--fix", "Dockerfile")
    assert r.exit_code == 0 and p.stat().st_mtime == 1_000_000
    assert r.stdout == "All checks passed (1 file).\n"


def test_diff_prints_and_writes_nothing(env):
    p = put("Dockerfile", SRC)
    r = run("--diff", "Dockerfile")
    assert r.exit_code == 1
    assert r.stdout == ("--- Dockerfile\n+++ Dockerfile\n@@ -1,3 +1,3 @@\n FROM x:latest\n"
                        "-RUN pip install torch\n+RUN pip install --no-cache-dir torch\n ADD a b\n")
    assert r.stderr == "Would fix 1 problem in 1 file.\n"
    assert p.read_bytes() == SRC
    r = run("--diff", "--unsafe-fixes", "Dockerfile")
    assert "+COPY a b\n" in r.stdout and r.exit_code == 1


def test_diff_exit_0_when_nothing_to_fix(env):
    put("Dockerfile", b"FROM x:latest\nADD a b\n")  # findings, but no safe fix
    r = run("--diff", "Dockerfile")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "No fixes available.\n")


def test_unsafe_fixes_alone_is_a_usage_error(env):
    put("Dockerfile", SRC)
    r = run("--unsafe-fixes", "Dockerfile")
    assert r.exit_code == 2 and "--unsafe-fixes needs --fix or --diff" in r.stderr


def test_stdin_fix_prints_fixed_bytes(env):
    data = b"\xef\xbb\xbfFROM x\r\n# caf\xe9\r\nRUN pip install a\r\n"
    r = run("--fix", "-", input=data)
    assert r.stdout_bytes == b"\xef\xbb\xbfFROM x\r\n# caf\xe9\r\nRUN pip install --no-cache-dir a\r\n"
    assert r.exit_code == 0
    assert "Fixed 1 problem in 1 file." in r.stderr


def test_crlf_file_fixed_byte_for_byte(env):
    p = put("Dockerfile", b"FROM x\r\nRUN pip install a \\\r\n\tb  \r\n")
    run("--fix", "Dockerfile")
    assert p.read_bytes() == b"FROM x\r\nRUN pip install --no-cache-dir a \\\r\n\tb  \r\n"


def test_guard_trip_leaves_file_and_names_rule(env):
    text = b"FROM x\nRUN pip install a BREAKME\n"
    p = put("Dockerfile", text)
    r = run("--extend-select", "MLD906", "--fix", "Dockerfile")
    assert p.read_bytes() == text
    assert ("Dockerfile: warning: fixes not applied, file left unchanged: fix of MLD906 would "
            "introduce a syntax error") in r.stderr
    assert r.exit_code == 1


def test_cycle_guard_from_cli(env):
    text = b"FROM x\nRUN echo AAA\n"
    p = put("Dockerfile", text)
    r = run("--extend-select", "MLD907,MLD908", "--fix", "Dockerfile")
    assert p.read_bytes() == text and "MLD907, MLD908 loop" in r.stderr


def test_second_file_written_and_reported(env):
    put("app/Dockerfile", b"FROM x\nCOPY . .\n")
    r = run("--extend-select", "MLD911", "--fix", "--show-fixes", "app/Dockerfile")
    assert Path("app/.dockerignore").read_bytes() == b".git\n"
    assert r.stdout.splitlines() == [
        "Applied fixes:",
        "  app/Dockerfile:",
        "    1 x MLD911 Ignore .git",
        "    wrote app/.dockerignore (MLD911)",
        "Fixed 1 problem in 1 file.",
        "All checks passed (1 file).",  # linted again after .dockerignore was written
    ]
    r = run("--extend-select", "MLD911", "--diff", "app/Dockerfile")
    assert r.exit_code == 0


def test_second_file_diff(env):
    put("app/Dockerfile", b"FROM x\nCOPY . .\n")
    Path("app/.dockerignore").write_bytes(b"*.pt\n")
    r = run("--extend-select", "MLD911", "--diff", "app/Dockerfile")
    assert r.stdout == ("--- app/.dockerignore\n+++ app/.dockerignore\n@@ -1 +1,2 @@\n"
                        " *.pt\n+.git\n")
    assert r.exit_code == 1 and Path("app/.dockerignore").read_bytes() == b"*.pt\n"


def test_new_second_file_diff_applies_with_git(env):
    import shutil
    import subprocess

    put("Dockerfile", b"FROM x\nCOPY . .\n")
    r = run("--extend-select", "MLD911", "--diff", "Dockerfile")
    assert r.stdout == "--- /dev/null\n+++ .dockerignore\n@@ -0,0 +1 @@\n+.git\n"
    assert r.exit_code == 1 and not Path(".dockerignore").exists()
    if shutil.which("git"):
        Path("p.diff").write_text(r.stdout)
        subprocess.run(["git", "init", "-q"], check=True)
        subprocess.run(["git", "apply", "p.diff"], check=True)
        assert Path(".dockerignore").read_bytes() == b".git\n"


def test_json_after_fix_reports_what_is_left(env):
    import json

    put("Dockerfile", SRC)
    r = run("--fix", "--format", "json", "Dockerfile")
    doc = json.loads(r.stdout)
    assert [x["rule"] for x in doc["results"]] == ["MLD904", "MLD903"]
    assert Path("Dockerfile").read_bytes() == SAFE


def test_suppressed_finding_is_not_fixed(env):
    p = put("Dockerfile", b"FROM x\n# mldlint: ignore=MLD902 -- keep the cache\n"
                          b"RUN pip install a\nRUN pip install b\n")
    r = run("--fix", "Dockerfile")
    assert p.read_bytes() == (b"FROM x\n# mldlint: ignore=MLD902 -- keep the cache\n"
                              b"RUN pip install a\nRUN pip install --no-cache-dir b\n")
    assert r.exit_code == 0, r.output


def test_configuration_applies_when_fixing(env):
    Path(".mldlint.yaml").write_text("ignore: [MLD902]\n")
    p = put("Dockerfile", SRC)
    r = CliRunner().invoke(cli, ["check", "--fix", "Dockerfile"])
    assert p.read_bytes() == SRC, r.output
    assert "MLD902" not in r.stdout and "Fixed" not in r.stdout
