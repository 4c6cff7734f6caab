"""``--fix --unsafe-fixes`` over every real-world Dockerfile of ../shared/datasets/ (a copy):
a file BuildKit parses still parses after fixing, and a second run changes nothing.

Meaningful whatever rules exist: it runs every implemented rule (``--select ALL``) and prints
what it did (files changed, fixes per rule, guard trips; see with ``pytest -s``)."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys

import pytest

from test_fixer import buildkit


@pytest.mark.slow
def test_fix_datasets_keeps_buildkit_parsing_and_is_idempotent(dataset_dir, dataset_files,
                                                               tmp_path):
    copy = tmp_path / "datasets"
    shutil.copytree(dataset_dir, copy, symlinks=True)
    before = {p.relative_to(dataset_dir): p.read_bytes() for p in dataset_files}

    cmd = [sys.executable, "-m", "mldlint", "check", "--select", "ALL", "--fail-on", "never",
           "--jobs", "1"]
    first = subprocess.run(cmd + ["--fix", "--unsafe-fixes", "--show-fixes", str(copy)],
                           capture_output=True, text=True, timeout=3600, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr and "internal error" not in first.stderr

    per_rule: collections.Counter[str] = collections.Counter()
    for m in re.finditer(r"^    (\d+) x (MLD\d{3}) ", first.stdout, re.M):
        per_rule[m.group(2)] += int(m.group(1))
    guards = [ln for ln in first.stderr.splitlines() if "fixes not applied" in ln]

    changed = []
    broken = []
    for rel, data in before.items():
        after = (copy / rel).read_bytes()
        if after == data:
            continue
        changed.append(rel)
        bk_before = buildkit(data)
        if isinstance(bk_before, list):
            bk_after = buildkit(after)
            if isinstance(bk_after, str):
                broken.append(f"{rel}: {bk_after}")
    print(f"\n{len(before)} files, {len(changed)} changed, "
          f"{sum(per_rule.values())} fixes: {dict(sorted(per_rule.items()))}; "
          f"{len(guards)} guard trips")
    for g in guards[:20]:
        print("  " + g)
    assert broken == [], broken[:10]

    second = subprocess.run(cmd + ["--diff", "--unsafe-fixes", str(copy)],
                            capture_output=True, text=True, timeout=3600, cwd=tmp_path)
    assert second.stdout == "", second.stdout[:3000]
    assert second.returncode == 0, second.stderr[-3000:]
