"""A start-up cache for data read from YAML (rule metadata, knowledge tables).

Parsing YAML with the pure-Python ruamel.yaml costs far more than linting a file: the ~100 small
YAML files of ``rules/`` and ``knowledge/data/`` take hundreds of milliseconds, a pickle of the
same data a few. :func:`cached` keeps the result of a loader in a pickle keyed by the source
files' paths, sizes and modification times (as Python's own ``.pyc`` files are), the mldlint
version and the Python version, so an edited YAML file is simply read again.

The cache lives in ``$MLDLINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mldlint``, else
``~/.cache/mldlint``; ``MLDLINT_CACHE_DIR=""`` (empty) turns it off. It is an optimisation only:
a cache that cannot be read or written is ignored (the data is then parsed every run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

#: bump when the pickled shapes change in a way the key does not capture.
_FORMAT = 1


def cache_dir() -> Path | None:
    """The cache folder, or ``None`` when caching is off."""
    env = os.environ.get("MLDLINT_CACHE_DIR")
    if env is not None:
        return Path(env) if env.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no usable home folder
        return None
    return Path(base) / "mldlint"


def _key(kind: str, files: list[Path]) -> tuple[str, str] | None:
    """``(where, what)``: a hash of the files' paths (one checkout's data) and a hash of their
    state (sizes, modification times), the versions and ``kind``."""
    try:  # CPython's own BLAKE2: importing hashlib loads OpenSSL, a tenth of the start-up
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - other Pythons
        from hashlib import blake2b

    from . import __version__

    where = blake2b(digest_size=6)
    what = blake2b(digest_size=12)
    what.update(f"{_FORMAT}|{__version__}|{sys.version_info[:2]}|{kind}".encode())
    try:
        for f in files:
            st = os.stat(f)
            name = os.path.abspath(f).encode("utf-8", "surrogateescape")
            where.update(name + b"\0")
            what.update(name + f"|{st.st_size}|{st.st_mtime_ns}|".encode())
    except OSError:
        return None  # a missing file: let the loader report it
    return where.hexdigest(), what.hexdigest()


def _trusted(path: Path) -> bool:
    """Whether a cache file or folder may be unpickled from: owned by the current user and not
    writable by anyone else (a pickle can run code, so a file another user could plant in a
    shared ``$MLDLINT_CACHE_DIR`` is never loaded)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & 0o022


def cached(kind: str, files: Iterable[Path], load: Callable[[], T]) -> T:
    """``load()``, or its pickled result from an earlier run over the same ``files``.

    ``kind`` names the data (a file-name-safe word); ``files`` are every file ``load`` reads.
    Exceptions of ``load`` propagate (nothing is cached then).
    """
    folder = cache_dir()
    key = _key(kind, list(files)) if folder is not None else None
    if folder is None or key is None:
        return load()
    import pickle

    prefix = f"{kind}-{key[0]}-"
    path = folder / f"{prefix}{key[1]}.pickle"
    try:
        if _trusted(folder) and _trusted(path):
            with open(path, "rb") as fh:
                return pickle.load(fh)
    except Exception:  # noqa: BLE001 - missing, truncated or stale: build it again
        pass
    value = load()
    tmp = folder / f".{prefix}{key[1]}.{os.getpid()}.tmp"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - read-only home, full disk, unpicklable: no cache
        try:
            tmp.unlink()
        except OSError:
            pass
        return value
    for old_file in folder.glob(f"{prefix}*.pickle"):  # earlier states of the same files
        if old_file != path:
            try:
                old_file.unlink()
            except OSError:
                pass
    return value
