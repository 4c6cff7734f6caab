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
