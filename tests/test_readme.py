"""The README stays true: its rule table is the one generated from rules/*.yaml, its set-up
commands are the ones .ci/run runs, and the example it lints exists."""

from __future__ import annotations

import re

from conftest import ROOT
from mldlint.docs import update_readme

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_rule_table_is_generated_from_the_rule_files():
    assert update_readme(README) == README, "run: python -m mldlint.docs README.md"


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd.strip() in ci


def test_readme_example_dockerfile_exists():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    first = blocks[0]
    path = re.search(r"mldlint check (\S+)", first).group(1)
    assert (ROOT / path).is_file()


def test_readme_configuration_example_is_valid(tmp_path):
    import subprocess
    import sys

    block = re.search(r"```yaml\n(# \.mldlint\.yaml.*?)```", README, re.S).group(1)
    (tmp_path / ".mldlint.yaml").write_text(block)
    (tmp_path / "docker").mkdir()
    (tmp_path / "Dockerfile").write_bytes((ROOT / "fixtures/serving/Dockerfile").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "mldlint", "check", "Dockerfile"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert "MLD305" not in proc.stdout  # ignored by the example
