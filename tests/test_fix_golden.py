"""Golden files: ``fixtures/seed-fixed/<name>.Dockerfile`` is what ``mldlint check --fix`` makes
of ``../shared/cases/seed/<name>.Dockerfile``; ``<name>.unsafe.Dockerfile`` is the result of
``--fix --unsafe-fixes`` where it differs. Each file is fixed alone in an empty folder (the
build context), with configuration files ignored. Second files the fixes write in that folder
(MLD405's ``.dockerignore``) are golden too, as ``<name><file>`` (``seed01.dockerignore``; the
``--unsafe-fixes`` run's).

Regenerate after a rule's fix changes: ``MLDLINT_UPDATE_GOLDEN=1 pytest tests/test_fix_golden.py``,
then read every diff as a reviewer before committing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldlint.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "cases" / "seed"
GOLDEN = ROOT / "fixtures" / "seed-fixed"
UPDATE = bool(os.environ.get("MLDLINT_UPDATE_GOLDEN"))

CASES = sorted(SEED.glob("*.Dockerfile")) if SEED.exists() else []


def _fixed(case: Path, tmp: Path, unsafe: bool) -> bytes:
    folder = tmp / ("unsafe" if unsafe else "safe")
    folder.mkdir()
    target = folder / case.name
    shutil.copyfile(case, target)
    args = ["check", "--isolated", "--fail-on", "never", "--fix", str(target)]
    r = CliRunner().invoke(cli, args + (["--unsafe-fixes"] if unsafe else []))
    assert r.exit_code == 0, r.output
    assert "fixes not applied" not in r.stderr, r.stderr
    return target.read_bytes()


def _second_files(folder: Path, case: Path) -> dict[str, bytes]:
    """The files the fixes wrote in the build context besides the Dockerfile (dotfiles)."""
    out = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != case.name}
    assert all(name.startswith(".") for name in out), sorted(out)
    return out


@pytest.mark.skipif(not CASES, reason="../shared/cases/seed is not there")
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_seed_fix_golden(case, tmp_path):
    safe = _fixed(case, tmp_path, unsafe=False)
    unsafe = _fixed(case, tmp_path, unsafe=True)
    golden = GOLDEN / case.name
    golden_unsafe = GOLDEN / f"{case.stem}.unsafe.Dockerfile"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(safe)
        if unsafe != safe:
            golden_unsafe.write_bytes(unsafe)
        elif golden_unsafe.exists():
            golden_unsafe.unlink()
    others = _second_files(tmp_path / "unsafe", case)
    golden_others = {p.name[len(case.stem):]: p for p in GOLDEN.glob(f"{case.stem}.*")
                     if not p.name.endswith(".Dockerfile")}
    if UPDATE:
        for name, p in golden_others.items():
            if name not in others:
                p.unlink()
        for name, data in others.items():
            (GOLDEN / f"{case.stem}{name}").write_bytes(data)
        golden_others = {name: GOLDEN / f"{case.stem}{name}" for name in others}
    assert safe == golden.read_bytes()
    assert unsafe == (golden_unsafe.read_bytes() if golden_unsafe.exists() else safe)
    assert others == {name: p.read_bytes() for name, p in golden_others.items()}
    # fixing the fixed file (with the second files written) changes nothing
    again = tmp_path / "again"
    again.mkdir()
    (again / case.name).write_bytes(unsafe)
    for name, data in others.items():
        (again / name).write_bytes(data)
    r = CliRunner().invoke(cli, ["check", "--isolated", "--diff", "--unsafe-fixes",
                                 str(again / case.name)])
    assert r.exit_code == 0 and r.stdout == "", r.stdout
