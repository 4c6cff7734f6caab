"""The handed cases of ../shared/cases/ (from real bug reports and the seed guide) pass with the
shared checker, run the way the issue asks: `check-cases --implemented` with MLDLINT set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import CASES, SHARED


def test_handed_cases_pass():
    tool = SHARED / "tools" / "check-cases"
    if not tool.exists():
        pytest.skip("../shared/tools/check-cases is not there")
    env = dict(os.environ, MLDLINT=f"{sys.executable} -m mldlint")
    proc = subprocess.run([sys.executable, str(tool), "--implemented", str(CASES)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " 0 failed" in proc.stdout.strip().splitlines()[-1]
