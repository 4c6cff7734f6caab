"""Every real-world Dockerfile of ../shared/datasets/ is linted with every rule: no file is
unreadable, no rule crashes (MLD004), and the run exits 0 or 1, never 2 or 3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_every_dataset_file_lints_without_crash(dataset_dir, dataset_files):
    folder = dataset_dir
    proc = subprocess.run(
        [sys.executable, "-m", "mldlint", "check", "--select", "ALL", "--format", "json",
         str(folder)], capture_output=True, text=True, timeout=1800)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["files"] == len(dataset_files)
    assert doc["summary"]["unreadable"] == []
    crashes = [r for r in doc["results"] if r["rule"] == "MLD004"]
    assert crashes == [], crashes[:5]
