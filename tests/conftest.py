"""Shared test fixtures: paths to the shared folder and the unpacked real-world datasets."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATASETS = SHARED / "datasets"
CASES = SHARED / "cases"


def _unpack(dest: Path) -> list[Path]:
    for name in ("shipwright-broken-dockerfiles.tar.gz", "binnacle-gold-dockerfiles.tar.xz"):
        archive = DATASETS / name
        if archive.exists():
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")
    return sorted(p for p in dest.rglob("*") if p.is_file() and p.name != "README.md")


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory) -> Path:
    """A temporary folder holding both archives of ../shared/datasets/, unpacked."""
    if not DATASETS.exists():
        pytest.skip("../shared/datasets is not there")
    dest = tmp_path_factory.mktemp("datasets")
    _unpack(dest)
    return dest


@pytest.fixture(scope="session")
def dataset_files(dataset_dir) -> list[Path]:
    """Every Dockerfile of ../shared/datasets/ (in :func:`dataset_dir`)."""
    return sorted(p for p in dataset_dir.rglob("*") if p.is_file() and p.name != "README.md")
