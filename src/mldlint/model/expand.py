"""Variable expansion the way BuildKit expands ARG/ENV in instructions, and image references.

Only what the model needs: ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``,
``${NAME:+alt}``, ``${NAME+alt}``. Nothing is ever executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: the longest ``${A:-word}`` default word looked at, and the deepest nesting of defaults
#: expanded: without the first bound, a long line of unclosed ``${a:-`` is rescanned to its end
#: from every ``$`` (quadratic time); without the second, ``${a:-${a:-...}}`` recursed until a
#: RecursionError (both found by the long-line and fuzz tests).
MAX_WORD = 1024
MAX_DEPTH = 32

_VAR_RE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]{0,%d}))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))" % MAX_WORD
)


def variables_used(text: str, _depth: int = 0) -> list[tuple[str, int, int]]:
    """Names referenced in ``text`` as ``(name, start, end)`` (indices into ``text``, end
    exclusive, covering ``$NAME``/``${...}``). ``\\$`` escapes are skipped. Default words inside
    ``${A:-$B}`` are scanned too (down to :data:`MAX_DEPTH` levels)."""
    out: list[tuple[str, int, int]] = []
    if _depth > MAX_DEPTH:
        return out
    for m in _VAR_RE.finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "\\":
            continue
        name = m.group("braced") or m.group("plain")
        out.append((name, m.start(), m.end()))
        word = m.group("word")
        if word and "$" in word:
            base = m.start("word")
            out.extend((n, s + base, e + base)
                       for n, s, e in variables_used(word, _depth + 1))
    return out


def expand(text: str, env: dict[str, str | None], _depth: int = 0) -> tuple[str, bool]:
    """Expand variables in ``text`` with ``env`` (a ``None`` value = declared without value).

    Returns ``(expanded, complete)``; ``complete`` is False when a variable had no known value
    (it expands to the empty string, as in BuildKit), or when defaults nest deeper than
    :data:`MAX_DEPTH` (the text is then returned as it is).
    """
    if _depth > MAX_DEPTH:
        return text, False
    complete = True

    def sub(m: re.Match) -> str:
        nonlocal complete
        if m.start() > 0 and text[m.start() - 1] == "\\":
            return m.group(0)
        name = m.group("braced") or m.group("plain")
        op, word = m.group("op"), m.group("word")
        val = env.get(name)
        is_set = name in env and val is not None
        if op in (":-", "-"):
            if (op == ":-" and not val) or (op == "-" and not is_set):
                inner, ok = expand(word or "", env, _depth + 1)
                complete = complete and ok
                return inner
            return val or ""
        if op in (":+", "+"):
            if (op == ":+" and val) or (op == "+" and is_set):
                inner, ok = expand(word or "", env, _depth + 1)
                complete = complete and ok
                return inner
            return ""
        if val is None:
            complete = False
            return ""
        return val

    return _VAR_RE.sub(sub, text), complete


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference ``[registry/]repository[:tag][@digest]``.

    ``repository`` is normalised the way users think of it: ``docker.io/`` and ``library/``
    removed (``docker.io/library/python`` -> ``python``), other registries kept as a prefix
    (``nvcr.io/nvidia/pytorch``). ``tag`` is ``None`` when absent (Docker uses ``latest``).
    """

    raw: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name_with_tag(self) -> str:
        """``repository:tag`` (tag ``latest`` when absent)."""
        return f"{self.repository}:{self.tag or 'latest'}"


def parse_image_ref(ref: str) -> ImageRef | None:
    """Parse an image reference; ``None`` for an empty or obviously invalid one."""
    ref = ref.strip()
    original = ref
    if not ref or any(c.isspace() for c in ref):
        return None
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1:]
    repo = ref.lower()
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
    if repo.startswith("library/"):
        repo = repo[len("library/"):]
    return ImageRef(raw=original, repository=repo, tag=tag or None,
                    digest=digest)
