"""Configuration: discovery, --config/--isolated, validation errors (exit 2 with file:line:col),
precedence (defaults < config < CLI < pragmas), per-file-ignores, exclude, fail-on, severities,
build-context, pyproject.toml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mldlint import config
from mldlint.registry import load_all

METAS = load_all()
PIP = "FROM python:3.11-slim\nRUN pip install torch\n"


def mldlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldlint", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def rules_of(proc) -> list[tuple[str, str, str]]:
    doc = json.loads(proc.stdout)
    return sorted((r["path"], r["rule"], r["severity"]) for r in doc["results"])


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "svc").mkdir()
    (root / "Dockerfile").write_text(PIP)
    (root / "svc" / "Dockerfile").write_text(PIP)
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------------- discovery
def test_nearest_config_wins_and_discovery_stops_at_the_repository_root(repo):
    write(repo.parent / ".mldlint.yaml", "select: [MLD001]\n")  # above .git: never read
    write(repo / ".mldlint.yaml", "select: [MLD310]\n")
    write(repo / "svc" / ".mldlint.yml", "select: [MLD311]\n")
    proc = mldlint("check", "--format", "json", ".", cwd=repo)
    assert rules_of(proc) == [("Dockerfile", "MLD310", "warning"),
                              ("svc/Dockerfile", "MLD311", "warning")]


def test_yaml_before_yml_before_pyproject(repo):
    write(repo / "pyproject.toml", "[tool.mldlint]\nselect = ['MLD001']\n")
    write(repo / ".mldlint.yml", "select: [MLD311]\n")
    assert {r for _, r, _ in rules_of(mldlint("check", "--format", "json", ".", cwd=repo))} \
        == {"MLD311"}
    write(repo / ".mldlint.yaml", "select: [MLD310]\n")
    assert {r for _, r, _ in rules_of(mldlint("check", "--format", "json", ".", cwd=repo))} \
        == {"MLD310"}


def test_pyproject_table(repo):
    write(repo / "pyproject.toml", "[project]\nname = 'x'\n\n[tool.mldlint]\n"
          "select = ['pip-no-cache-dir']\nfail-on = 'never'\n\n"
          "[tool.mldlint.rules.MLD310]\nseverity = 'info'\n")
    proc = mldlint("check", "--format", "json", "Dockerfile", cwd=repo)
    assert proc.returncode == 0
    assert rules_of(proc) == [("Dockerfile", "MLD310", "info")]


def test_pyproject_without_table_is_skipped(repo):
    write(repo / "pyproject.toml", "[project]\nname = 'x'\n")
    write(repo.parent / "x", "")
    proc = mldlint("check", "--format", "json", "--select", "MLD310", "Dockerfile", cwd=repo)
    assert rules_of(proc) == [("Dockerfile", "MLD310", "warning")]


def test_config_option_replaces_discovery_and_isolated_ignores(repo, tmp_path):
    write(repo / ".mldlint.yaml", "select: [MLD310]\n")
    other = write(tmp_path / "elsewhere.yaml", "select: [MLD311]\n")
    proc = mldlint("check", "--format", "json", "--config", str(other), "Dockerfile", cwd=repo)
    assert {r for _, r, _ in rules_of(proc)} == {"MLD311"}
    proc = mldlint("check", "--format", "json", "--isolated", "Dockerfile", cwd=repo)
    assert {"MLD310", "MLD311"} <= {r for _, r, _ in rules_of(proc)}


def test_stdin_uses_the_config_of_the_stdin_filename_folder(repo):
    write(repo / "svc" / ".mldlint.yaml", "select: [MLD311]\n")
    proc = subprocess.run([sys.executable, "-m", "mldlint", "check", "--format", "json", "-",
                           "--stdin-filename", "svc/Dockerfile"], cwd=repo, input=PIP,
                          capture_output=True, text=True, timeout=300)
    assert rules_of(proc) == [("svc/Dockerfile", "MLD311", "warning")]


# ---------------------------------------------------------------------- precedence
def test_cli_select_replaces_config_select_and_cli_ignore_adds(repo):
    write(repo / ".mldlint.yaml", "select: [MLD310]\nignore: [MLD311]\n")
    proc = mldlint("check", "--format", "json", "--select", "MLD311", "Dockerfile", cwd=repo)
    assert {r for _, r, _ in rules_of(proc)} == {"MLD311"}
    write(repo / ".mldlint.yaml", "select: [packages]\n")
    proc = mldlint("check", "--format", "json", "--ignore", "MLD310", "Dockerfile", cwd=repo)
    assert {r for _, r, _ in rules_of(proc)} == {"MLD311"}
    write(repo / "Dockerfile", "FROM python\nRUN pip install torch\n")
    proc = mldlint("check", "--format", "json", "--extend-select", "MLD201", "Dockerfile",
                   cwd=repo)
    assert {r for _, r, _ in rules_of(proc)} == {"MLD201", "MLD310", "MLD311"}


def test_pragmas_beat_config(repo):
    write(repo / ".mldlint.yaml", "select: [MLD310]\n")
    write(repo / "Dockerfile", "FROM python:3.11-slim\n# mldlint: ignore=MLD310\n"
          "RUN pip install torch\n")
    proc = mldlint("check", "--format", "json", "Dockerfile", cwd=repo)
    assert rules_of(proc) == [] and proc.returncode == 0


def test_per_file_ignores_and_exclude(repo):
    write(repo / ".mldlint.yaml", "select: [MLD310, MLD311]\n"
          "per-file-ignores:\n  'svc/**': [pip-unpinned]\n"
          "exclude: ['legacy/']\n")
    write(repo / "legacy" / "Dockerfile", PIP)
    proc = mldlint("check", "--format", "json", ".", cwd=repo)
    assert rules_of(proc) == [("Dockerfile", "MLD310", "warning"),
                              ("Dockerfile", "MLD311", "warning"),
                              ("svc/Dockerfile", "MLD310", "warning")]
    # a file named on the command line is linted even when excluded
    proc = mldlint("check", "--format", "json", "legacy/Dockerfile", cwd=repo)
    assert {r for _, r, _ in rules_of(proc)} == {"MLD310", "MLD311"}


def test_fail_on_and_severity_from_config_and_cli(repo):
    write(repo / ".mldlint.yaml", "select: [MLD310]\nfail-on: error\n")
    assert mldlint("check", "Dockerfile", cwd=repo).returncode == 0
    assert mldlint("check", "--fail-on", "warning", "Dockerfile", cwd=repo).returncode == 1
    write(repo / ".mldlint.yaml", "select: [MLD310]\nrules:\n  pip-no-cache-dir:\n"
          "    severity: error\nfail-on: error\n")
    proc = mldlint("check", "--format", "json", "Dockerfile", cwd=repo)
    assert proc.returncode == 1
    assert rules_of(proc) == [("Dockerfile", "MLD310", "error")]


def test_build_context_from_config(repo, tmp_path):
    ctx = repo / "ctx"
    ctx.mkdir()
    cfg = config.load(str(write(repo / ".mldlint.yaml", "build-context: ctx\n")), METAS)
    assert cfg.build_context == str(ctx)
    settings = config.settings_for(cfg, "Dockerfile", METAS, default_context=".")
    assert settings.context == str(ctx)
    settings = config.settings_for(cfg, "Dockerfile", METAS, cli_context="other")
    assert settings.context == "other"


def test_trusted_registries_become_an_option(repo):
    cfg = config.load(str(write(repo / ".mldlint.yaml",
                                "trusted-registries: [nvcr.io, docker.io]\n")), METAS)
    assert cfg.options["MLD206"] == {"trusted-registries": ["nvcr.io", "docker.io"]}


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("text,where,message", [
    ("selct: [MLD310]\n", "1:1", "unknown key 'selct' (did you mean 'select'?)"),
    ("select:\n  - MLD310\n  - MLD999\n", "3:5", "unknown rule selector 'MLD999'"),
    ("rules:\n  MLD999: {severity: info}\n", "2:3", "unknown rule 'MLD999'"),
    ("rules:\n  MLD310:\n    severity: high\n", "3:15", "must be one of error, warning, info"),
    ("rules:\n  MLD310:\n    colour: red\n", "3:5", "unknown setting 'colour' for MLD310"),
    ("fail-on: sometimes\n", "1:10", "fail-on must be one of error, warning, info, never"),
    ("exclude: 3\n", "1:10", "exclude must be a list of globs"),
    ("exclude: [ok, 3]\n", "1:15", "expected a glob (a non-empty string), not"),
    ("trusted-registries: [1]\n", "1:22", "expected a registry (a non-empty string), not"),
    ("per-file-ignores: [a]\n", "1:19", "per-file-ignores must be a mapping"),
    ("select: !!python/object/apply:os.system ['echo hi']\n", "1:9", "is not allowed"),
    ("select: [MLD310\n", "2:1", "invalid YAML"),
    ("a: 1\na: 2\n", "2:1", "duplicate key"),
    ("build-context: nowhere\n", "1:16", "is not a folder"),
    ("- select\n", "1:1", "must be a mapping of keys"),
])
def test_invalid_config_exits_2_with_position(repo, text, where, message):
    write(repo / ".mldlint.yaml", text)
    proc = mldlint("check", "Dockerfile", cwd=repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith(f".mldlint.yaml:{where}: "), first
    assert message in first
    assert proc.stdout == ""


def test_invalid_pyproject_reports_the_key_line(repo):
    write(repo / "pyproject.toml", "[project]\nname = 'x'\n\n[tool.mldlint]\n"
          "select = ['MLD310']\nfail_on = 'error'\n")
    proc = mldlint("check", "Dockerfile", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pyproject.toml:6:1: unknown key 'fail_on' (did you mean "
                                  "'fail-on'?)")
    write(repo / "pyproject.toml", "[tool.mldlint\n")
    proc = mldlint("check", "Dockerfile", cwd=repo)
    assert proc.returncode == 2 and proc.stderr.startswith("pyproject.toml:1:")


@pytest.mark.parametrize("text, where, message", [
    ("[project]\nname = 'x'\n[tool.mldlint]\nselect = ['MLD310',\n", "5:1", "invalid TOML: "),
    ("[project]\nname = 'x'\n[tool]\nmldlint = 5\n", "4:1", "must be a mapping of keys"),
])
def test_pyproject_errors_point_at_the_right_line(repo, text, where, message):
    write(repo / "pyproject.toml", text)
    proc = mldlint("check", "Dockerfile", cwd=repo)
    assert proc.returncode == 2
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith(f"pyproject.toml:{where}: ") and message in first, first
    assert "at end of document" not in first


def test_missing_config_option_file_exits_2(repo):
    proc = mldlint("check", "--config", "nope.yaml", "Dockerfile", cwd=repo)
    assert proc.returncode == 2 and proc.stderr.startswith("nope.yaml:1:1: cannot read")


def test_tags_never_execute(repo, tmp_path):
    marker = tmp_path / "pwned"
    write(repo / ".mldlint.yaml", f"select: !!python/object/apply:os.system ['touch {marker}']\n")
    mldlint("check", "Dockerfile", cwd=repo)
    assert not marker.exists()
