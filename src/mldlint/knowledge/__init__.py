"""The knowledge base: facts about base images and the ML ecosystem, shipped as data files in
``knowledge/data/`` (each fact with its source in the file's comments). Loaded lazily, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data")


def load_yaml(name: str):
    """Load ``knowledge/data/<name>`` with ruamel.yaml's safe loader.

    Raises:
        OSError: the file is missing (a packaging bug).
    """
    from ..cache import cached

    path = DATA / name

    def load():
        from ruamel.yaml import YAML

        with open(path, encoding="utf-8") as fh:
            return YAML(typ="safe", pure=True).load(fh)

    # pickled between runs: parsing YAML costs more than linting a file
    return cached("knowledge-" + name.replace(".", "_"), [path], load)


@dataclass(frozen=True)
class ImageFacts:
    """What the knowledge base knows about a base image.

    Attributes:
        family: ``python``, ``debian``, ``cuda``, ``distroless``, ... .
        has: programs known to be present (``python``, ``curl``, ``sh`` ...).
        lacks: programs known to be absent.
        user: the non-root user the image runs as by default, or ``None`` (root).
        workdir: the image's WORKDIR, or ``None``.
        env: ENV the image sets (name -> value).
        full: a full variant with a known slim counterpart family.
    """

    family: str
    has: frozenset[str] = frozenset()
    lacks: frozenset[str] = frozenset()
    user: str | None = None
    workdir: str | None = None
    env: dict = field(default_factory=dict)
    full: bool = False


@lru_cache(maxsize=1)
def _base_images():
    data = load_yaml("base_images.yaml")
    entries = []
    for e in data["images"]:
        m = e["match"]
        entries.append((re.compile(m["repository"]), re.compile(m.get("tag", ".*")), ImageFacts(
            family=e["family"],
            has=frozenset(e.get("has", [])),
            lacks=frozenset(e.get("lacks", [])),
            user=e.get("user"),
            workdir=e.get("workdir"),
            env=dict(e.get("env", {})),
            full=bool(e.get("full", False)),
        )))
    slim = [(s["repository"], re.compile(s["from"]), s["to"], s["full_size"], s["slim_size"])
            for s in data["slim"]]
    return entries, slim


def image_facts(repository: str, tag: str | None) -> ImageFacts | None:
    """Facts for ``repository`` (normalised: no ``docker.io/``, no ``library/``) at ``tag``
    (``None`` = latest), or ``None`` when the image is unknown."""
    entries, _ = _base_images()
    t = tag or "latest"
    for repo_re, tag_re, facts in entries:
        if repo_re.fullmatch(repository) and tag_re.fullmatch(t):
            return facts
    return None


def slim_counterpart(repository: str, tag: str | None) -> tuple[str, str, str] | None:
    """``(slim tag, full size, slim size)`` for a full tag with a known slim counterpart
    (``python``/``3.10`` -> ``3.10-slim``), else ``None``. Sizes are approximate strings
    ("~1 GB") from Docker Hub (see base_images.yaml)."""
    if not tag:
        return None
    _, slim = _base_images()
    for repo, rx, to, full_size, slim_size in slim:
        if repo == repository and rx.fullmatch(tag):
            return rx.sub(to, tag), full_size, slim_size
    return None
