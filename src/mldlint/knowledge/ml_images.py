"""Typed access to ``data/ml_images.yaml``: the tables of the GPU-at-build, ML-cache and
framework-image rules (MLD204, MLD704-MLD714). Each table names its sources in the data file."""

from __future__ import annotations

import re
from functools import lru_cache

from . import load_yaml


@lru_cache(maxsize=1)
def data() -> dict:
    """The parsed ``ml_images.yaml`` (cached)."""
    return load_yaml("ml_images.yaml")


@lru_cache(maxsize=1)
def _no_libgl() -> tuple[tuple[re.Pattern, re.Pattern], ...]:
    return tuple((re.compile(e["repository"]), re.compile(e["tag"]))
                 for e in data()["no_libgl_images"])


def lacks_libgl(repository: str, tag: str | None) -> bool:
    """Whether the base image is known to ship without ``libGL.so.1``."""
    t = tag or "latest"
    return any(r.fullmatch(repository) and t_re.fullmatch(t) for r, t_re in _no_libgl())


def libgl_packages() -> frozenset[str]:
    """System packages that provide (or pull in) ``libGL.so.1``."""
    return frozenset(data()["libgl_packages"])


def opencv_headless(name: str) -> str | None:
    """The headless counterpart of a GUI OpenCV wheel (``opencv-python`` ->
    ``opencv-python-headless``), or ``None``."""
    return data()["opencv_headless"].get(name)


def pins_torch() -> frozenset[str]:
    """Packages whose releases require one exact torch version."""
    return frozenset(data()["pins_torch"])


def cache_env(kind: str) -> tuple[str, ...]:
    """Environment variables that relocate the ``kind`` cache (``hf``, ``datasets``,
    ``torch``, ``sentence_transformers``), most specific first."""
    return tuple(data()["cache_env"][kind])
