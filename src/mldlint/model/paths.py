"""Paths inside an image: normalisation and containment (POSIX paths, as in a Linux image)."""

from __future__ import annotations

import posixpath


def normalize(path: str, cwd: str | None = None) -> str | None:
    """A normalised absolute path: ``~`` is ``/root`` (builds run as root unless USER says
    otherwise), relative paths are joined to ``cwd``; ``None`` when ``path`` is relative and
    ``cwd`` unknown."""
    if path.startswith("~/") or path == "~":
        path = "/root" + path[1:]
    if not path.startswith("/"):
        if not cwd:
            return None
        path = posixpath.join(cwd, path)
    return posixpath.normpath(path)


def is_under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it (both normalised absolute paths; a trailing ``/*``
    on ``folder`` means its contents)."""
    if folder.endswith("/*"):
        folder = folder[:-2]
    folder = folder.rstrip("/") or "/"
    path = path.rstrip("/") or "/"
    return folder == "/" or path == folder or path.startswith(folder + "/")
