"""Compare mldlint's parser with BuildKit's (the PyPI ``dockerfile`` package) on one file.

Used by the differential test; also runnable by hand: ``python tests/oracle.py FILE...``.
"""

from __future__ import annotations

import sys

from mldlint.parser import parse
from mldlint.source import SourceFile


def buildkit_view(data: bytes):
    """BuildKit's reading of ``data``: a list of tuples, or the error message (str)."""
    import dockerfile

    text = data.decode("utf-8", "surrogateescape")
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return None  # not UTF-8: the Go bridge cannot take it (it may even abort the process)
    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return str(exc)
    except UnicodeEncodeError:  # text the Go bridge cannot take (lone surrogates)
        return None
    out = []
    for c in cmds:
        out.append((c.cmd.upper(), (c.sub_cmd or "").upper(), c.start_line, c.end_line,
                    tuple(c.flags), tuple(c.value), c.json,
                    tuple((h.name, h.content) for h in c.heredocs)))
    return out


def mldlint_view(data: bytes, path: str = "Dockerfile"):
    """mldlint's reading in the same shape as :func:`buildkit_view`, plus its parse errors."""
    df = parse(SourceFile.from_bytes(data, path))
    out = []
    for ins in df.instructions:
        args = ins.buildkit_args if ins.buildkit_args is not None else ins.args
        sub = ins.sub
        heredocs = tuple((h.name, h.content) for h in ins.heredocs) if sub is None else ()
        keyword = ins.keyword if ins.keyword in KNOWN else ins.keyword_text
        out.append((keyword.upper(), sub.keyword if sub else "", ins.start_line, ins.end_line,
                    tuple(f.raw for f in ins.flags), tuple(a.value for a in args), ins.is_json,
                    heredocs))
    return out, df


KNOWN = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
         "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
         "WORKDIR"}


def compare(data: bytes, path: str = "Dockerfile") -> str | None:
    """None when mldlint agrees with BuildKit, else a description of the first difference."""
    bk = buildkit_view(data)
    if bk is None:
        return None
    mine, df = mldlint_view(data, path)
    if isinstance(bk, str):
        if not df.errors:
            return f"BuildKit rejects ({bk}) but mldlint reports no syntax error"
        return None
    if len(bk) != len(mine):
        for a, b in zip(bk, mine):
            if a[:4] != b[:4]:
                return f"instruction count {len(bk)} vs {len(mine)}; first differs: {a} != {b}"
        return f"instruction count {len(bk)} vs {len(mine)}"
    for a, b in zip(bk, mine):
        if a[1] and a[7] == ():  # ONBUILD: the wrapper does not report the trigger's heredocs
            b = b[:7] + ((),)
        if a != b:
            return f"BuildKit {a!r}\n  mldlint  {b!r}"
    return None


if __name__ == "__main__":
    bad = 0
    for p in sys.argv[1:]:
        with open(p, "rb") as fh:
            d = compare(fh.read(), p)
        if d:
            bad += 1
            print(f"{p}: {d}")
    print(f"{len(sys.argv) - 1 - bad} agree, {bad} differ")
