"""Find the Dockerfiles to lint.

Files named on the command line are taken as they are (any name). Folders are walked
recursively for the file names Dockerfiles usually have (:data:`PATTERNS`, matched against the
file name only, case-sensitively), skipping VCS, dependency and virtual-environment folders.
Symlinked folders are not followed (no loops), nor symlinked files that point out of the
walked folder; a symlink to a file the walk finds under its own name is dropped (one file, linted
and fixed once); the result is sorted and deterministic.
"""

from __future__ import annotations

import fnmatch
import os
import re

#: file-name patterns of Dockerfiles (the same list as the pre-commit hook's ``files``).
PATTERNS = ("Dockerfile", "Dockerfile.*", "Dockerfile-*", "*.Dockerfile", "*.dockerfile",
            "Containerfile*")
#: file names that match :data:`PATTERNS` but are not Dockerfiles (BuildKit's per-Dockerfile
#: ignore file ``Dockerfile.dockerignore``).
EXCLUDED_SUFFIXES = (".dockerignore",)
#: folder names never walked into.
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", ".nox",
                       "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

_NAME_RE = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in PATTERNS))


def is_dockerfile_name(name: str) -> bool:
    """Whether a file name (no folder) looks like a Dockerfile."""
    return bool(_NAME_RE.match(name)) and not name.endswith(EXCLUDED_SUFFIXES)


def _skip_dir(parent: str, name: str) -> bool:
    if name in SKIP_DIRS:
        return True
    full = os.path.join(parent, name)
    if os.path.islink(full):
        return True
    return os.path.exists(os.path.join(full, "pyvenv.cfg"))


def _inside(real: str, real_root: str) -> bool:
    try:
        return os.path.commonpath([real, real_root]) == real_root
    except ValueError:  # different drives
        return False


def _clean(path: str) -> str:
    """``./a/Dockerfile`` -> ``a/Dockerfile`` (keeps a leading ``..`` and absolute paths)."""
    return os.path.normpath(path)


def walk(root: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Dockerfiles under folder ``root`` and folders that could not be read."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    real_root = os.path.realpath(root)

    def onerror(err: OSError) -> None:
        problems.append((_clean(err.filename or root), err.strerror or str(err)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(dirpath, d))
        for name in sorted(filenames):
            if is_dockerfile_name(name):
                full = os.path.join(dirpath, name)
                if not os.path.isfile(full):  # skips broken symlinks, sockets, fifos
                    continue
                if os.path.islink(full) and not _inside(os.path.realpath(full), real_root):
                    continue  # a symlink out of the folder: not part of what was asked for
                files.append(_clean(full))
    # a symlink to a file found here too is the same Dockerfile: lint it (and fix it) once,
    # under its own name rather than the link's
    by_target: dict[str, str] = {}
    for f in files:
        real = os.path.realpath(f)
        kept = by_target.get(real)
        if kept is None or (os.path.islink(kept) and not os.path.islink(f)):
            by_target[real] = f
    kept_files = set(by_target.values())
    return [f for f in files if f in kept_files], problems


def discover(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to lint for ``paths`` and the ``(path, reason)`` of paths that do not exist
    or cannot be walked.

    Explicit files are kept as given; folders are walked (see the module docs). The files are
    de-duplicated and sorted.
    """
    files: set[str] = set()
    problems: list[tuple[str, str]] = []
    for path in paths:
        if os.path.isdir(path):
            found, errs = walk(path)
            files.update(found)
            problems.extend(errs)
        elif os.path.lexists(path) and not os.path.exists(path):
            problems.append((path, "No such file or directory (broken symbolic link)"))
        elif os.path.exists(path):
            files.add(path)
        else:
            problems.append((path, "No such file or directory"))
    return sorted(files), problems
