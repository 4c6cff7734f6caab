"""The pre-commit hooks: their `files` pattern agrees with mldlint's own file names, and (slow)
the real `pre-commit try-repo` installs mldlint from a clone of this working tree and runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import ROOT
from mldlint.discovery import is_dockerfile_name

HOOKS = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
BY_ID = {h["id"]: h for h in HOOKS}

NAMES = {
    "Dockerfile": True, "Dockerfile.gpu": True, "Dockerfile-cuda12": True,
    "serve.Dockerfile": True, "train.dockerfile": True, "Containerfile": True,
    "Containerfile.dev": True, "Dockerfile.dockerignore": False, "dockerfile": False,
    "Dockerfiles": False, "README.md": False, "Dockerfile.py.txt": True, "x.Dockerfile.bak": False,
}


def test_two_hooks_with_the_documented_entries():
    assert set(BY_ID) == {"mldlint", "mldlint-fix"}
    assert BY_ID["mldlint"]["entry"] == "mldlint check"
    assert BY_ID["mldlint-fix"]["entry"] == "mldlint check --fix"
    for hook in HOOKS:
        assert hook["language"] == "python"
        assert hook["types"] == ["text"]


@pytest.mark.parametrize("name,expected", sorted(NAMES.items()))
def test_files_pattern_matches_the_names_mldlint_walks(name, expected):
    for hook in HOOKS:
        for path in (name, f"docker/sub/{name}"):
            selected = bool(re.search(hook["files"], path)) and not re.search(
                hook.get("exclude", "^$"), path)
            assert selected == expected, (hook["id"], path)
    assert is_dockerfile_name(name) == expected


# ---------------------------------------------------------------------- the real thing
def _git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def _clone_working_tree(dest: Path) -> Path:
    """A new repository holding the current working tree (tracked and untracked, not ignored
    files) in one commit: what pre-commit would install if this tree were pushed."""
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard",
                 cwd=ROOT).split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    _git("init", "-q", ".", cwd=dest)
    _git("add", "-A", cwd=dest)
    _git("commit", "-q", "-m", "snapshot", cwd=dest)
    return dest


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("needs the pre-commit package (pip install -e '.[test]')")
    clone = _clone_working_tree(tmp_path / "mldlint-clone")
    work = tmp_path / "project"
    work.mkdir()
    _git("init", "-q", ".", cwd=work)
    (work / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install torch\n")
    (work / "svc").mkdir()
    (work / "svc" / "Containerfile").write_text(
        "FROM python:3.11-slim\nRUN useradd --create-home --uid 10001 app\nUSER 10001\n"
        'CMD ["python", "-c", "print(1)"]\n')
    _git("add", "-A", cwd=work)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
               PRE_COMMIT_COLOR="never")
    env.pop("VIRTUAL_ENV", None)
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(clone), "mldlint",
           "--color", "never", "--files"]
    bad = subprocess.run(cmd + ["Dockerfile"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=1200)
    out = bad.stdout + bad.stderr
    assert bad.returncode == 1, out
    assert "Dockerfile:2:" in out and "MLD310" in out and "MLD311" in out
    good = subprocess.run(cmd + ["svc/Containerfile"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
