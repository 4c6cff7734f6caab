"""Commands as an image runs them: CMD/ENTRYPOINT/HEALTHCHECK (shell or exec form) parsed into
simple commands, and what a ``python`` argv runs."""

from __future__ import annotations

import re
import shlex

from ..parser.nodes import OffsetMap

_PY_RE = re.compile(r"python(\d+(\.\d+)?)?$")
#: python options that take a separate argument
_PY_OPT_ARG = frozenset({"-W", "-X", "-Q"})


def program_name(word: str | None) -> str:
    """The base name of a program word (``/usr/bin/python3`` -> ``python3``; ``""`` for None)."""
    return (word or "").rstrip("/").rsplit("/", 1)[-1]


def argv_text(cmd) -> list[str]:
    """A shell Command's argv as strings (static values, else the raw text)."""
    return [w.text for w in cmd.argv]


def python_target(argv: list[str]) -> tuple[str, str, list[str]] | None:
    """For ``python [opts] -m mod args`` / ``python [opts] -c code`` / ``python file``:
    ``("m"|"c"|"file", target, rest)``; ``None`` when ``argv`` is not a python call."""
    if not argv or not _PY_RE.match(program_name(argv[0])):
        return None
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("-m", "-c"):
            if i + 1 >= len(argv):
                return None
            return a[1], argv[i + 1], argv[i + 2:]
        if a.startswith("-m") and len(a) > 2:
            return "m", a[2:], argv[i + 1:]
        if a.startswith("-c") and len(a) > 2:
            return "c", a[2:], argv[i + 1:]
        if a in _PY_OPT_ARG:
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return "file", a, argv[i + 1:]
    return None


def exec_form_script(words, source_text: str | None):
    """Parse an exec-form argv (shell Words with the spans of their JSON strings) as the shell
    would see ``shlex.join(argv)``, so that wrappers (``tini --``, ``conda run``, ``exec``) are
    stripped and ``["sh", "-c", "..."]`` strings are parsed as scripts. Words keep their exact
    source spans where the JSON string has no escapes (checked against ``source_text``);
    others map to the start of their JSON string."""
    from ..parser.shell import parse_shell

    parts: list[str] = []
    om = OffsetMap()
    for i, w in enumerate(words):
        v, sp = w.value, w.span
        if i:
            parts.append(" ")
            om.add(words[i - 1].span.end, 1, verbatim=False)
        q = shlex.quote(v)
        parts.append(q)
        exact = source_text is not None and source_text[sp.start + 1:sp.end - 1] == v
        if exact and q == v:
            om.add(sp.start + 1, len(v))
        elif exact and q == "'" + v + "'":
            om.add(sp.start, 1, verbatim=False)
            om.add(sp.start + 1, len(v))
            om.add(sp.end - 1, 1, verbatim=False)
        else:
            om.add(sp.start, len(q), verbatim=False)
    return parse_shell("".join(parts), om)
