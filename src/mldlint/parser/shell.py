"""Shell scripts as flat lists of *simple commands* whose words keep exact source spans.

:func:`parse_shell` wraps tree-sitter-bash. It takes the script as the shell sees it (the body of a
RUN, a shell-form CMD/ENTRYPOINT, a HEALTHCHECK CMD, a heredoc body) and an optional
:class:`~mldlint.parser.nodes.OffsetMap` from script indices to source offsets, and returns a
:class:`Script`: every simple command found anywhere in the script (through ``&&``, ``||``, ``;``,
pipes, subshells, ``{ }``, ``if``/``for``/``while``/``case`` bodies, function bodies, ``$( )``
and backquotes, re-parsed ``sh -c '...'`` strings and ``bash <<EOF`` bodies), in execution order,
with common wrappers (``sudo``, ``env A=b``, ``conda run -n X``, ``timeout 10`` ...) stripped.

Offsets: tree-sitter reports UTF-8 *byte* offsets; everything here is converted to Python ``str``
indices (code points) at that boundary, then through the offset map to source offsets. Lone
surrogates (from ``surrogateescape`` decoding) are handed to tree-sitter as U+FFFD (3 bytes, like
their ``surrogatepass`` encoding), so they never raise and never shift offsets.

tree-sitter-bash quirks handled here (version 0.25):

* words after a redirection's target (``echo a > f b``) are reported as extra redirect
  destinations; they are command arguments (as bash treats them).
* a heredoc redirect swallows the rest of its line: in ``cat <<EOF | sh`` or
  ``cat <<EOF > f && pip install x`` the pipeline / ``&&`` list is a *child of the heredoc
  redirect*. Those are walked as what follows the command.
* two heredocs on one command (``cat <<A <<B``) produce an ERROR node.
* an unterminated quote turns the rest of the script into one ERROR node (no commands in it).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from .nodes import OffsetMap, Span

__all__ = [
    "Word",
    "Redirect",
    "Command",
    "Pipeline",
    "Script",
    "parse_shell",
    "pip_args",
    "pip_kind",
    "shell_heredoc_target",
    "words_text",
    "has_flag",
    "flag_value",
    "SHELLS",
]

#: Program names treated as POSIX-ish shells (``sh -c``, ``bash <<EOF``).
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "busybox-sh"})

_MAX_DEPTH = 8  # nesting of re-parsed ``sh -c`` strings / heredoc scripts


# ---------------------------------------------------------------------------------------- data
@dataclass
class Word:
    """One word of a command.

    Attributes:
        raw: the word as written in the script the shell saw (quotes and escapes included). For a
            command found inside ``bash -c "..."`` this is the text of the *inner* script (after
            the outer shell's quote removal), so it may differ from the source slice.
        value: the word after quote removal when it is static (no ``$var``, ``${..}``, ``$( )``,
            backquotes, ``$(( ))``; globs and braces are kept literally); ``None`` when dynamic.
        span: source span (half-open, code points) covering the word.
    """

    raw: str
    value: str | None
    span: Span
    # internal: (unquoted text with expansions kept raw, start index map, end index map) in
    # the coordinates of the script the word was parsed from; used to re-parse ``sh -c`` bodies.
    _lit: Any = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        """``value`` when static, else ``raw``."""
        return self.value if self.value is not None else self.raw

    @property
    def is_static(self) -> bool:
        """True when ``value`` is known (no expansion)."""
        return self.value is not None


@dataclass
class Redirect:
    """A redirection attached to a command.

    Attributes:
        op: the operator as written (``>``, ``>>``, ``2>``-style descriptor included in ``fd``,
            ``<<``, ``<<-``, ``<<<``, ``>&`` ...).
        fd: the descriptor digits before the operator, or ``None``.
        target: the destination word (file, descriptor, heredoc delimiter, here-string), or
            ``None`` when missing.
        span: source span of the whole redirection (for a heredoc: the ``<<EOF`` marker only).
        body: for a heredoc, the body text exactly as in the script (without the terminator).
        body_span: source span of ``body``.
    """

    op: str
    fd: str | None
    target: Word | None
    span: Span
    body: str | None = None
    body_span: Span | None = None


@dataclass
class Command:
    """A simple command.

    Attributes:
        argv: the words after stripping wrappers; ``argv[0]`` is the program. Never empty.
        assignments: ``VAR=x`` prefixes, ``env A=b`` / ``sudo A=b`` assignments and those of an
            enclosing ``A=b sh -c '...'`` (values after quote removal; the raw text when dynamic).
        wrappers: wrappers stripped, outermost first, e.g. ``["sudo", "env"]``,
            ``["sh -c"]``/``["bash -c"]`` (program basename + `` -c``), ``["conda run"]``,
            ``["bash <<"]`` for a command read from a heredoc fed to a shell.
        span: source span of the simple command as written (prefix assignments, wrappers and
            redirections included; for a heredoc only up to the ``<<EOF`` marker).
        full_argv: the words before stripping wrappers (for a command from a ``sh -c`` string:
            its own words inside the string).
        redirects: redirections (not argv words).
        negated: under ``!``.
        background: run with ``&``.
        in_substitution: inside ``$( )``, backquotes or ``<( )``.
        options: shell options in effect (``errexit``, ``pipefail``, ``nounset``, ``xtrace``...)
            from ``set`` commands run before it, the shell's own flags (``sh -eo pipefail -c``)
            and :func:`parse_shell`'s ``options``.
        shell_span: for a command found in a re-parsed ``sh -c`` string or shell heredoc, the span
            of the outermost enclosing command; else ``None``.
    """

    argv: list[Word]
    assignments: dict[str, str] = field(default_factory=dict)
    wrappers: list[str] = field(default_factory=list)
    span: Span = Span(0, 0)
    full_argv: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    negated: bool = False
    background: bool = False
    in_substitution: bool = False
    options: frozenset[str] = frozenset()
    shell_span: Span | None = None

    @property
    def name(self) -> str | None:
        """Basename of ``argv[0].value`` (``/opt/venv/bin/pip`` -> ``pip``); ``None`` if dynamic."""
        argv = self.argv
        if not argv:
            return None
        v = argv[0].value
        if v is None or "/" not in v:  # the usual case, without a call (asked very often)
            return v
        return _basename(v)

    @property
    def args(self) -> list[Word]:
        """``argv[1:]``."""
        return self.argv[1:]

    @property
    def heredoc_bodies(self) -> list[tuple[str, Span]]:
        """``(body, body_span)`` of each heredoc redirect, in order."""
        return [(r.body, r.body_span) for r in self.redirects
                if r.body is not None and r.body_span is not None]

    def arg_values(self) -> list[str]:
        """``[w.text for w in args]``."""
        return [w.text for w in self.argv[1:]]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Command {' '.join(w.text for w in self.argv)!r} {self.span}>"


@dataclass
class Pipeline:
    """A pipeline of two or more stages (``a | b``).

    Attributes:
        stages: per stage, the commands found in it (a simple command gives one; ``( a; b )``
            or ``sh -c 'a; b'`` give several).
        span: source span of the whole pipeline.
        options: shell options in effect when it starts (``"pipefail" in options``).
    Iterating or indexing a pipeline goes over :attr:`commands`.
    """

    stages: list[list[Command]]
    span: Span
    options: frozenset[str] = frozenset()

    @property
    def commands(self) -> list[Command]:
        """All commands of all stages, in order."""
        return [c for st in self.stages for c in st]

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands)

    def __len__(self) -> int:
        return len(self.commands)

    def __getitem__(self, i: int) -> Command:
        return self.commands[i]


@dataclass
class Script:
    """A parsed shell script.

    Attributes:
        commands: every simple command, in execution order (commands of a ``$( )`` come before the
            command using it), flattened through lists, pipelines, compound commands,
            substitutions and re-parsed ``sh -c`` strings (which replace the ``sh -c`` command).
        has_error: tree-sitter saw an ERROR or MISSING node (here or in a re-parsed string).
        pipelines: every pipeline of two or more stages.
        options_set: every shell option turned on anywhere (``set -e``, ``set -o pipefail``,
            shell flags, initial options).
        text: the script text parsed.
    """

    commands: list[Command] = field(default_factory=list)
    has_error: bool = False
    pipelines: list[Pipeline] = field(default_factory=list)
    options_set: set[str] = field(default_factory=set)
    text: str = ""

    def named(self, *names: str) -> list[Command]:
        """Commands whose :attr:`Command.name` is one of ``names``."""
        return [c for c in self.commands if c.name in names]

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands)


# ------------------------------------------------------------------------------ small helpers
def _basename(v: str) -> str:
    return v.rstrip("/").rsplit("/", 1)[-1] if "/" in v.rstrip("/") else v


def words_text(words: Iterable[Word]) -> list[str]:
    """``[w.text for w in words]`` (value when static, raw otherwise)."""
    return [w.text for w in words]


def _as_set(x: str | Iterable[str] | None) -> tuple[str, ...]:
    if x is None:
        return ()
    if isinstance(x, str):
        return (x,)
    return tuple(x)


def has_flag(words: Sequence[Word | str], short: str | Iterable[str] | None = None,
             long: str | Iterable[str] | None = None) -> bool:
    """Whether ``words`` contain an option.

    Args:
        words: argument words (or strings); scanning stops at ``--``.
        short: one letter (or several alternatives), found in a word starting with a single
            ``-`` (combined flags: ``-yq`` contains ``y`` and ``q``). Note: a combined word whose
            tail is an attached value (``-ofile``) is also searched; pass only flag-like words
            if that matters.
        long: option name(s) without ``--``; matches ``--name`` and ``--name=value``.
    """
    shorts = _as_set(short)
    longs = _as_set(long)
    for w in words:
        t = w if isinstance(w, str) else w.text
        if t == "--":
            return False
        if t.startswith("--"):
            body = t[2:].split("=", 1)[0]
            if body in longs:
                return True
        elif t.startswith("-") and len(t) > 1:
            if any(s in t[1:] for s in shorts):
                return True
    return False


def flag_value(words: Sequence[Word | str], short: str | Iterable[str] | None = None,
               long: str | Iterable[str] | None = None) -> list[str]:
    """Values of an option that takes an argument, in order: ``--name=v``, ``--name v``,
    ``-x v``, ``-xv`` (``short`` must then be the first letter). Scanning stops at ``--``.
    Returns ``[]`` when absent."""
    shorts = _as_set(short)
    longs = _as_set(long)
    texts = [w if isinstance(w, str) else w.text for w in words]
    out: list[str] = []
    i = 0
    while i < len(texts):
        t = texts[i]
        if t == "--":
            break
        if t.startswith("--"):
            name, eq, val = t[2:].partition("=")
            if name in longs:
                if eq:
                    out.append(val)
                elif i + 1 < len(texts):
                    out.append(texts[i + 1])
                    i += 1
        elif t.startswith("-") and len(t) > 1 and t[1] in shorts:
            if len(t) > 2:
                out.append(t[2:].lstrip("="))
            elif i + 1 < len(texts):
                out.append(texts[i + 1])
                i += 1
        i += 1
    return out


_PIP_RE = re.compile(r"pip(\d+(\.\d+)*)?$")
_PYTHON_RE = re.compile(r"python(\d+(\.\d+)*)?[mtd]?$")
_PY_ARG_OPTS = frozenset("XWQ")
_UV_GLOBAL_ARG = frozenset({"--cache-dir", "--directory", "--project", "--config-file",
                            "--color", "--python", "-p", "--allow-insecure-host"})


def _pip_split(cmd: Command) -> tuple[str, list[Word]] | None:
    name = cmd.name
    if name is None:
        return None
    args = cmd.argv[1:]
    if _PIP_RE.match(name):
        return "pip", args
    if _PYTHON_RE.match(name):
        i = 0
        while i < len(args):
            v = args[i].value
            if v is None:
                return None
            if v == "-m":
                if i + 1 < len(args) and args[i + 1].value == "pip":
                    return "pip", args[i + 2:]
                return None
            if v.startswith("-m") and len(v) > 2:
                return ("pip", args[i + 1:]) if v[2:] == "pip" else None
            if v.startswith("-") and not v.startswith("--") and len(v) > 1:
                if v[-1] in _PY_ARG_OPTS and len(v) == 2:
                    i += 2
                    continue
                if "c" in v[1:]:
                    return None  # python -c '...'
                i += 1
                continue
            return None  # a script path
        return None
    if name == "uv":
        i = 0
        while i < len(args):
            v = args[i].value
            if v is None:
                return None
            if v == "pip":
                return "uv", args[i + 1:]
            if v.startswith("-"):
                i += 2 if v in _UV_GLOBAL_ARG else 1
                continue
            return None
    return None


def pip_args(cmd: Command) -> list[Word] | None:
    """If ``cmd`` runs pip in any spelling (``pip``, ``pip3``, ``pip3.11``, ``/opt/venv/bin/pip``,
    ``python -m pip``, ``python3.11 -m pip``, ``/usr/bin/python3 -m pip``, ``uv pip``; wrappers
    such as ``conda run`` are already stripped), the words after the pip part
    (``python -m pip install -U x`` -> ``[install, -U, x]``); else ``None``."""
    r = _pip_split(cmd)
    return None if r is None else r[1]


def pip_kind(cmd: Command) -> str | None:
    """``"uv"`` for ``uv pip ...``, ``"pip"`` for any other pip spelling, else ``None``."""
    r = _pip_split(cmd)
    return None if r is None else r[0]


def _shell_flags(args: Sequence[Word]) -> tuple[bool, int | None, set[str], bool] | None:
    """Parse a shell's options. Returns ``(has_c, index of first operand, options, stdin)``
    (index into ``args``; ``None`` when no operand) or ``None`` when a word is dynamic."""
    opts: set[str] = set()
    has_c = False
    stdin = False
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None:
            return None
        if v in ("--", "-"):
            i += 1
            break
        if v.startswith("--"):
            if v in ("--rcfile", "--init-file"):
                i += 2
                continue
            i += 1
            continue
        if (v.startswith("-") or v.startswith("+")) and len(v) > 1:
            on = v[0] == "-"
            takes = 0
            for ch in v[1:]:
                if ch == "c":
                    has_c = True
                elif ch == "s":
                    stdin = True
                elif ch in "oO":
                    takes += 1
                elif ch in _SET_LETTERS and on:
                    opts.add(_SET_LETTERS[ch])
            for k in range(takes):
                if i + 1 + k < len(args):
                    nv = args[i + 1 + k].value
                    if nv and on and "o" in v:
                        opts.add(nv)
            i += 1 + takes
            continue
        break
    return has_c, (i if i < len(args) else None), opts, stdin


def shell_options(argv: Sequence[str]) -> frozenset[str]:
    """The shell options a ``SHELL`` instruction turns on, from its exec-form argv
    (``["/bin/bash", "-eo", "pipefail", "-c"]`` -> ``{"errexit", "pipefail"}``)."""
    words = [Word(raw=a, value=a, span=Span(0, 0)) for a in argv[1:]]
    parsed = _shell_flags(words)
    return frozenset(parsed[2]) if parsed else frozenset()


def shell_heredoc_target(cmd: Command) -> bool:
    """Whether ``cmd`` is a shell (``sh``/``bash``/``dash``/``zsh``...) reading its script from
    stdin: no ``-c`` and no script-file operand (``bash``, ``bash -ex``, ``sh -s``)."""
    if cmd.name not in SHELLS:
        return False
    r = _shell_flags(cmd.argv[1:])
    if r is None:
        return False
    has_c, operand, _opts, stdin = r
    return not has_c and (operand is None or stdin)


_SET_LETTERS = {"e": "errexit", "u": "nounset", "x": "xtrace", "f": "noglob", "v": "verbose",
                "n": "noexec", "C": "noclobber", "a": "allexport", "b": "notify",
                "m": "monitor", "h": "hashall", "B": "braceexpand", "E": "errtrace",
                "T": "functrace", "H": "histexpand", "P": "physical"}


def _apply_set(args: Sequence[Word], opts: set[str]) -> None:
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None or v == "--" or v == "-":
            return
        if (v.startswith("-") or v.startswith("+")) and len(v) > 1:
            on = v[0] == "-"
            letters = v[1:]
            if "o" in letters:
                if i + 1 < len(args) and args[i + 1].value:
                    name = args[i + 1].value
                    assert name is not None
                    (opts.add if on else opts.discard)(name)
                    i += 1
                letters = letters.replace("o", "")
            for ch in letters:
                if ch in _SET_LETTERS:
                    (opts.add if on else opts.discard)(_SET_LETTERS[ch])
        else:
            return  # positional parameters
        i += 1


# ------------------------------------------------------------------------------ wrappers
_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")

# name -> (short options taking an argument, long options taking an argument,
#          accepts NAME=value, positional operands before the command)
_WRAPPERS: dict[str, tuple[str, frozenset[str], bool, int]] = {
    "sudo": ("ugCDhprRtTU", frozenset({"user", "group", "chdir", "prompt", "role", "type",
                                      "close-from", "host", "other-user", "command-timeout",
                                      "chroot"}), True, 0),
    "env": ("uCS", frozenset({"unset", "chdir", "split-string"}), True, 0),
    "nohup": ("", frozenset(), False, 0),
    "time": ("fo", frozenset({"format", "output"}), False, 0),
    "nice": ("n", frozenset({"adjustment"}), False, 0),
    "timeout": ("sk", frozenset({"signal", "kill-after"}), False, 1),
    "stdbuf": ("ioe", frozenset({"input", "output", "error"}), False, 0),
    "exec": ("a", frozenset(), False, 0),
    "command": ("", frozenset(), False, 0),
    "ionice": ("cnp", frozenset({"class", "classdata", "pid"}), False, 0),
    "gosu": ("", frozenset(), False, 1),
    "su-exec": ("", frozenset(), False, 1),
    "tini": ("pe", frozenset(), False, 0),
    "dumb-init": ("r", frozenset({"rewrite"}), False, 0),
    "catatonit": ("", frozenset(), False, 0),
}
# two-word wrappers: "<tool> run"
_RUN_WRAPPERS: dict[str, tuple[str, frozenset[str]]] = {
    "conda": ("npa", frozenset({"name", "prefix", "cwd", "attach"})),
    "mamba": ("npa", frozenset({"name", "prefix", "cwd", "attach"})),
    "micromamba": ("npare", frozenset({"name", "prefix", "cwd", "attach", "root-prefix",
                                       "env", "label", "rc-file"})),
    "poetry": ("CP", frozenset({"directory", "project"})),
    "uv": ("pif", frozenset({"with", "with-requirements", "with-editable", "python", "package",
                             "extra", "group", "only-group", "no-group", "project", "directory",
                             "env-file", "index", "index-url", "extra-index-url", "find-links",
                             "config-file", "cache-dir", "default-index"})),
    "pipenv": ("", frozenset()),
    "pdm": ("p", frozenset({"project"})),
    "pixi": ("e", frozenset({"environment", "manifest-path"})),
}


def _skip_options(argv: list[Word], i: int, short_arg: str, long_arg: frozenset[str],
                  assign: bool, assignments: dict[str, str]) -> int | None:
    """Skip a wrapper's options from ``argv[i]``; return the index after them or ``None`` when a
    dynamic word makes it unknowable."""
    while i < len(argv):
        v = argv[i].value
        if v is None:
            return None
        if v == "--":
            return i + 1
        if v.startswith("--"):
            name = v[2:].split("=", 1)[0]
            i += 2 if ("=" not in v and name in long_arg) else 1
            continue
        if v.startswith("-") and len(v) > 1:
            letters = v[1:]
            consumed = 1
            for k, ch in enumerate(letters):
                if ch in short_arg:
                    if k == len(letters) - 1:
                        consumed = 2
                    break
            i += consumed
            continue
        if assign and _ASSIGN_RE.match(v):
            k, _, val = v.partition("=")
            assignments[k] = val
            i += 1
            continue
        return i
    return i


def _unwrap(argv: list[Word], assignments: dict[str, str],
            wrappers: list[str]) -> tuple[list[Word], tuple[int, set[str]] | None]:
    """Strip wrappers; returns the remaining argv and, for ``sh -c 'script'``, ``(index of the
    script word, shell options)``."""
    for _ in range(32):
        if not argv or argv[0].value is None:
            return argv, None
        name = _basename(argv[0].value)
        if name in _WRAPPERS:
            short_arg, long_arg, assign, positional = _WRAPPERS[name]
            if name == "command" and has_flag(argv[1:], ("v", "V")):
                return argv, None
            j = _skip_options(argv, 1, short_arg, long_arg, assign, assignments)
            if j is None:
                return argv, None
            j += positional
            if j >= len(argv):
                return argv, None
            argv = argv[j:]
            wrappers.append(name)
            continue
        if name in _RUN_WRAPPERS and len(argv) > 2 and argv[1].value == "run":
            short_arg, long_arg = _RUN_WRAPPERS[name]
            j = _skip_options(argv, 2, short_arg, long_arg, False, assignments)
            if j is None or j >= len(argv):
                return argv, None
            argv = argv[j:]
            wrappers.append(f"{name} run")
            continue
        if name in SHELLS:
            r = _shell_flags(argv[1:])
            if r is not None:
                has_c, operand, opts, _stdin = r
                if has_c and operand is not None:
                    return argv, (operand + 1, opts)
        return argv, None
    return argv, None


# ------------------------------------------------------------------------- tree-sitter glue
_LANG: Any = None
_LOCAL = threading.local()


def _parser() -> Any:
    global _LANG
    p = getattr(_LOCAL, "parser", None)
    if p is None:
        import tree_sitter
        import tree_sitter_bash
        if _LANG is None:
            _LANG = tree_sitter.Language(tree_sitter_bash.language())
        p = tree_sitter.Parser(_LANG)
        _LOCAL.parser = p
    return p


#: What tree-sitter-bash is never given: lone surrogates (undecodable bytes kept by
#: surrogateescape, not encodable) and characters outside the Basic Multilingual Plane, whose
#: 4-byte UTF-8 form after a `{` makes tree-sitter-bash 0.25 read out of bounds and crash the
#: process (SIGSEGV; tree-sitter/tree-sitter-bash#337, found by our fuzzer). Each is replaced by
#: U+FFFD, one character for one character: a word character to the shell grammar just like
#: the original, and character offsets, which are all the walker uses, stay the same.
_UNSAFE_RE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


def _encode(text: str) -> tuple[bytes, list[int] | None]:
    """UTF-8 bytes for tree-sitter and a byte -> char index map (``None`` when ASCII).
    A byte inside a multi-byte character maps to the index of the next character. Characters
    tree-sitter-bash must not see are replaced first (see ``_UNSAFE_RE``)."""
    safe = _UNSAFE_RE.sub("\ufffd", text)
    data = safe.encode("utf-8")
    if len(data) == len(text):
        return data, None
    b2c = [0] * (len(data) + 1)
    b = 0
    for i, ch in enumerate(safe):
        o = ord(ch)
        n = 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
        b2c[b] = i
        for k in range(1, n):
            b2c[b + k] = i + 1
        b += n
    b2c[b] = len(text)
    return data, b2c


class _Ctx:
    """One parsed text: its index maps to the root text and from there to the source."""

    __slots__ = ("text", "lo", "hi", "root")

    def __init__(self, text: str, lo: list[int] | None, hi: list[int] | None,
                 root: "_Root") -> None:
        self.text = text
        self.lo = lo  # char i of this text starts at root index lo[i]
        self.hi = hi  # and ends at root index hi[i] (exclusive)
        self.root = root

    def root_range(self, s: int, e: int) -> tuple[int, int]:
        if self.lo is None or self.hi is None:
            return s, max(s, e)
        n = len(self.text)
        if n == 0:
            return 0, 0
        if e <= s:
            p = self.lo[s] if s < n else self.hi[n - 1]
            return p, p
        s = min(s, n - 1)
        e = min(e, n)
        return self.lo[s], self.hi[e - 1]

    def span(self, s: int, e: int) -> Span:
        rs, re_ = self.root_range(s, e)
        return self.root.span(rs, re_)


class _Root:
    __slots__ = ("offsets",)

    def __init__(self, offsets: OffsetMap | None) -> None:
        self.offsets = offsets

    def span(self, s: int, e: int) -> Span:
        if self.offsets is None:
            return Span(s, max(s, e))
        return self.offsets.span(s, e)


_DYNAMIC = frozenset({"simple_expansion", "expansion", "command_substitution",
                      "arithmetic_expansion", "process_substitution"})
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


class _Lit:
    """Accumulates unquoted characters with their start/end indices in the parsed text."""

    __slots__ = ("chars", "lo", "hi", "dynamic")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.dynamic = False

    def add(self, ch: str, lo: int, hi: int) -> None:
        self.chars.append(ch)
        self.lo.append(lo)
        self.hi.append(hi)

    def raw(self, text: str, s: int, e: int) -> None:
        if e > s:  # in bulk: one character per index (words are built very often)
            self.chars.extend(text[s:e])
            self.lo.extend(range(s, e))
            self.hi.extend(range(s + 1, e + 1))

    def unescape_unquoted(self, text: str, s: int, e: int) -> None:
        if text.find("\\", s, e) == -1:  # nothing to unescape: the usual case
            self.raw(text, s, e)
            return
        i = s
        while i < e:
            ch = text[i]
            if ch == "\\" and i + 1 < e:
                if text[i + 1] == "\n":
                    i += 2
                    continue
                self.add(text[i + 1], i, i + 2)
                i += 2
                continue
            self.add(ch, i, i + 1)
            i += 1

    def unescape_dquoted(self, text: str, s: int, e: int) -> None:
        if text.find("\\", s, e) == -1:
            self.raw(text, s, e)
            return
        i = s
        while i < e:
            ch = text[i]
            if ch == "\\" and i + 1 < e:
                nx = text[i + 1]
                if nx == "\n":
                    i += 2
                    continue
                if nx in '"\\$`':
                    self.add(nx, i, i + 2)
                    i += 2
                    continue
            self.add(ch, i, i + 1)
            i += 1

    def ansi(self, text: str, s: int, e: int) -> None:
        i = s
        while i < e:
            ch = text[i]
            if ch == "\\" and i + 1 < e:
                nx = text[i + 1]
                if nx in _ANSI:
                    self.add(_ANSI[nx], i, i + 2)
                    i += 2
                    continue
                m = re.match(r"x([0-9A-Fa-f]{1,2})|([0-7]{1,3})", text[i + 1:e])
                if m:
                    code = int(m.group(1), 16) if m.group(1) else int(m.group(2), 8)
                    n = 1 + m.end()
                    self.add(chr(code), i, i + n)
                    i += n
                    continue
            self.add(ch, i, i + 1)
            i += 1

    @property
    def value(self) -> str:
        return "".join(self.chars)


# ------------------------------------------------------------------------------- the walker
class _Walker:
    def __init__(self, ctx: _Ctx, script: Script, depth: int, opts: set[str],
                 outer: dict[str, Any] | None) -> None:
        self.ctx = ctx
        self.text = ctx.text
        self.script = script
        self.depth = depth
        self.opts = opts
        # outer: wrappers/assignments/shell_span of the sh -c command whose string we parse
        self.outer = outer
        self.b2c: list[int] | None = None
        self.in_sub = 0

    # -- offsets
    def pos(self, b: int) -> int:
        if self.b2c is None:
            return min(b, len(self.text))
        if b >= len(self.b2c):
            return len(self.text)
        return self.b2c[b]

    def rng(self, node: Any) -> tuple[int, int]:
        return self.pos(node.start_byte), self.pos(node.end_byte)

    def span(self, node: Any) -> Span:
        s, e = self.rng(node)
        return self.ctx.span(s, e)

    # -- entry
    def run(self) -> None:
        data, self.b2c = _encode(self.text)
        tree = _parser().parse(data)
        root = tree.root_node
        if root.has_error:
            self.script.has_error = True
        self.walk(root)

    # -- words
    def lit(self, node: Any, out: _Lit) -> None:
        t = node.type
        s, e = self.rng(node)
        text = self.text
        if t in _DYNAMIC:
            out.dynamic = True
            out.raw(text, s, e)
            return
        if t == "raw_string":
            close = e - 1 if e - s >= 2 and text[e - 1] == "'" else e
            out.raw(text, s + 1, close)
            return
        if t == "ansi_c_string":
            close = e - 1 if e - s >= 3 and text[e - 1] == "'" else e
            out.ansi(text, s + 2, close)
            return
        if t in ("string", "translated_string"):
            start = s + (2 if t == "translated_string" else 1)
            close = e - 1 if e - start >= 1 and text[e - 1] == '"' else e
            pos = start
            for c in node.named_children:
                cs, ce = self.rng(c)
                if c.type in _DYNAMIC:
                    out.unescape_dquoted(text, pos, cs)
                    out.dynamic = True
                    out.raw(text, cs, ce)
                    pos = ce
            out.unescape_dquoted(text, pos, close)
            return
        if node.child_count == 0 or t in ("word", "number"):
            out.unescape_unquoted(text, s, e)
            return
        pos = s
        for c in node.children:
            cs, ce = self.rng(c)
            out.unescape_unquoted(text, pos, cs)
            self.lit(c, out)
            pos = max(pos, ce)
        out.unescape_unquoted(text, pos, e)

    def word(self, node: Any) -> Word:
        s, e = self.rng(node)
        out = _Lit()
        try:
            self.lit(node, out)
        except RecursionError:
            out.dynamic = True
        v = out.value
        return Word(raw=self.text[s:e], value=None if out.dynamic else v,
                    span=self.ctx.span(s, e), _lit=(v, out.lo, out.hi))

    # -- generic walking
    def walk(self, node: Any) -> None:
        t = node.type
        h = getattr(self, "w_" + t, None)
        if h is not None:
            h(node)
            return
        self.walk_children(node)

    def walk_children(self, node: Any) -> None:
        prev_start = len(self.script.commands)
        for c in node.children:
            if c.type == "&":
                for cmd in self.script.commands[prev_start:]:
                    cmd.background = True
                continue
            if not c.is_named:
                continue
            prev_start = len(self.script.commands)
            self.walk(c)

    def subs_in(self, node: Any) -> None:
        """Walk only the command substitutions inside a word-like node."""
        if node.type in ("command_substitution", "process_substitution"):
            self.in_sub += 1
            saved = set(self.opts)
            try:
                self.walk_children(node)
            finally:
                self.in_sub -= 1
                self.opts = saved
            return
        for c in node.named_children:
            self.subs_in(c)

    def w_command_substitution(self, node: Any) -> None:
        self.subs_in(node)

    w_process_substitution = w_command_substitution

    def w_subshell(self, node: Any) -> None:
        saved = set(self.opts)
        try:
            self.walk_children(node)
        finally:
            self.opts = saved

    def w_negated_command(self, node: Any) -> None:
        n = len(self.script.commands)
        self.walk_children(node)
        for cmd in self.script.commands[n:]:
            cmd.negated = True

    def w_variable_assignment(self, node: Any) -> None:
        self.subs_in(node)

    def w_test_command(self, node: Any) -> None:
        self.subs_in(node)

    def w_heredoc_body(self, node: Any) -> None:
        self.subs_in(node)

    def w_pipeline(self, node: Any, first: list[Command] | None = None,
                   first_span: Span | None = None) -> None:
        opts = frozenset(self.opts)
        stages: list[list[Command]] = [first] if first is not None else []
        for c in node.children:
            if not c.is_named:
                continue
            n = len(self.script.commands)
            self.walk(c)
            stages.append(self.script.commands[n:])
        span = self.span(node)
        if first_span is not None:
            span = Span(first_span.start, max(span.end, first_span.end))
        if len(stages) >= 2:
            self.script.pipelines.append(Pipeline(stages=stages, span=span, options=opts))

    def w_redirected_statement(self, node: Any) -> None:
        body = node.child_by_field_name("body")
        redirects = [c for c in node.children if c.is_named and c is not body
                     and c.type.endswith("redirect")]
        if body is not None and body.type == "command":
            self.command(body, redirects, node)
            return
        if body is not None:
            self.walk(body)
        for r in redirects:
            self.redirect_tail(r)

    def redirect_tail(self, r: Any) -> None:
        """Walk what a redirect node holds besides the redirect itself (substitutions in its
        target; for a heredoc the rest of the line and the body's substitutions)."""
        if r.type != "heredoc_redirect":
            self.subs_in(r)
            return
        for c in r.named_children:
            if c.type in ("heredoc_start", "heredoc_end"):
                continue
            if c.type == "heredoc_body":
                self.subs_in(c)
            elif c.type.endswith("redirect"):
                self.subs_in(c)
            else:
                self.walk(c)

    def w_command(self, node: Any) -> None:
        self.command(node, [], None)

    def w_declaration_command(self, node: Any) -> None:
        self.plain_command(node)

    w_unset_command = w_declaration_command

    def plain_command(self, node: Any) -> None:
        self.subs_in(node)
        argv = [self.word(c) for c in node.children if c.type not in (";", "&")]
        if not argv:
            return
        self.emit(Command(argv=argv, span=self.span(node), full_argv=list(argv)), node)

    # -- commands
    def redirect(self, r: Any, argv_extra: list[tuple[Any, Word]]) -> tuple[Redirect, int]:
        """A redirect node as a :class:`Redirect` and its end index in this text (for a heredoc:
        the end of the marker or of the redirections after it on the line)."""
        fd = None
        op = ""
        target = None
        body = body_span = None
        end = r.end_byte
        for c in r.children:
            ct = c.type
            if ct == "file_descriptor":
                fd = self.text[slice(*self.rng(c))]
            elif not c.is_named and ct not in ("&&", "||", "|", "|&", ";", "&"):
                if not op:
                    op = ct
            elif ct == "heredoc_start":
                target = self.word(c)
                end = c.end_byte
            elif ct == "heredoc_body":
                s, e = self.rng(c)
                body = self.text[s:e]
                body_span = self.ctx.span(s, e)
            elif r.type == "heredoc_redirect":
                if ct.endswith("redirect"):
                    end = max(end, c.end_byte)
                continue
            elif target is None:
                target = self.word(c)
            else:
                argv_extra.append((c, self.word(c)))  # `echo a > f b`: b is an argument
        s, e = self.pos(r.start_byte), self.pos(end)
        return Redirect(op=op, fd=fd, target=target, span=self.ctx.span(s, e), body=body,
                        body_span=body_span), e

    def command(self, node: Any, outer_redirects: list[Any], stmt: Any) -> None:
        assignments: dict[str, str] = {}
        argv_nodes: list[tuple[Any, Word]] = []
        redirects: list[Redirect] = []
        tails: list[Any] = []
        ends: list[int] = []
        for c in node.children:
            ct = c.type
            if ct == "variable_assignment" and not argv_nodes:
                name_node = c.child_by_field_name("name")
                val_node = c.child_by_field_name("value")
                k = self.text[slice(*self.rng(name_node))] if name_node is not None else ""
                if val_node is not None:
                    w = self.word(val_node)
                    assignments[k] = w.text
                else:
                    assignments[k] = ""
                self.subs_in(c)
            elif ct.endswith("redirect"):
                rd, re_ = self.redirect(c, argv_nodes)
                redirects.append(rd)
                ends.append(re_)
                self.subs_in(c)
            elif ct == "command_name":
                inner = c.named_children[0] if c.named_child_count else c
                argv_nodes.append((inner, self.word(inner)))
            elif c.is_named:
                argv_nodes.append((c, self.word(c)))
        if outer_redirects and argv_nodes:
            # tree-sitter-bash drops a word between a command and its heredoc in some cases
            # (`python - <<'EOF' | tee log` loses the `-`): recover words from the gap.
            gs, ge = self.pos(node.end_byte), self.pos(outer_redirects[0].start_byte)
            for m in re.finditer(r"[^\s]+", self.text[gs:ge]):
                a, b = gs + m.start(), gs + m.end()
                lit = _Lit()
                lit.unescape_unquoted(self.text, a, b)
                argv_nodes.append((None, Word(raw=self.text[a:b], value=lit.value,
                                              span=self.ctx.span(a, b),
                                              _lit=(lit.value, lit.lo, lit.hi))))
        for r in outer_redirects:
            rd, re_ = self.redirect(r, argv_nodes)
            redirects.append(rd)
            ends.append(re_)
            if r.type == "heredoc_redirect":
                for hc in r.named_children:
                    if hc.type in ("heredoc_start", "heredoc_end", "heredoc_body") \
                            or hc.type.endswith("redirect"):
                        if hc.type.endswith("redirect"):
                            self.subs_in(hc)
                        continue
                    tails.append(hc)
            else:
                self.subs_in(r)
        # span: the command plus its redirections (a heredoc up to its marker or the
        # redirections following the marker on the line)
        s, e = self.rng(node)
        e = max([e, *ends])
        span = self.ctx.span(s, e)

        if not argv_nodes:
            # a bare assignment / redirection: walk substitutions only
            for r in outer_redirects:
                if r.type == "heredoc_redirect":
                    for hc in r.named_children:
                        if hc.type == "heredoc_body":
                            self.subs_in(hc)
            self.tails(tails, [])
            return
        full = [w for _, w in argv_nodes]
        wrappers: list[str] = []
        argv, shell_c = _unwrap(list(full), assignments, wrappers)
        script_word = argv[shell_c[0]] if shell_c and shell_c[0] < len(argv) else None
        # substitutions in the words (not in a re-parsed sh -c string: the re-parse finds them)
        for n_, w in argv_nodes:
            if n_ is not None and w is not script_word:
                self.subs_in(n_)
        # heredoc bodies: substitutions are run by this shell
        for r in outer_redirects:
            if r.type == "heredoc_redirect":
                for hc in r.named_children:
                    if hc.type == "heredoc_body":
                        self.subs_in(hc)
        cmd = Command(argv=argv, assignments=assignments, wrappers=wrappers, span=span,
                      full_argv=full, redirects=redirects)
        n = len(self.script.commands)
        if script_word is not None and self.depth < _MAX_DEPTH:
            assert shell_c is not None
            self.reparse_word(cmd, script_word, shell_c[1])
        else:
            self.emit(cmd, node)
            if self.depth < _MAX_DEPTH and shell_heredoc_target(cmd):
                for r in cmd.redirects:
                    if r.body is not None and r.op in ("<<", "<<-"):
                        self.reparse_heredoc(cmd, r, node, outer_redirects)
        self.tails(tails, self.script.commands[n:])

    def tails(self, tails: list[Any], first: list[Command]) -> None:
        for t in tails:
            if t.type == "pipeline":
                self.w_pipeline(t, first=first,
                                first_span=first[0].span if first else None)
            else:
                self.walk(t)

    def emit(self, cmd: Command, node: Any) -> None:
        if cmd.name == "set":
            _apply_set(cmd.argv[1:], self.opts)
            self.script.options_set.update(self.opts)
        cmd.options = frozenset(self.opts)
        cmd.in_substitution = self.in_sub > 0
        if self.outer is not None:
            cmd.wrappers = self.outer["wrappers"] + cmd.wrappers
            merged = dict(self.outer["assignments"])
            merged.update(cmd.assignments)
            cmd.assignments = merged
            cmd.shell_span = self.outer["span"]
            cmd.in_substitution = cmd.in_substitution or self.outer["in_sub"]
        self.script.commands.append(cmd)

    def child(self, text: str, lo: list[int], hi: list[int], opts: set[str],
              outer: dict[str, Any]) -> None:
        ctx = self.ctx
        if ctx.lo is not None and ctx.hi is not None:
            rlo = [ctx.lo[i] for i in lo]
            rhi = [ctx.hi[h - 1] for h in hi]
        else:
            rlo, rhi = list(lo), list(hi)
        sub = _Walker(_Ctx(text, rlo, rhi, ctx.root), self.script, self.depth + 1, opts,
                      outer)
        sub.in_sub = 0
        sub.run()

    def outer_info(self, cmd: Command, label: str) -> dict[str, Any]:
        base = self.outer
        return {
            "wrappers": (base["wrappers"] if base else []) + cmd.wrappers + [label],
            "assignments": {**(base["assignments"] if base else {}), **cmd.assignments},
            "span": base["span"] if base else cmd.span,
            "in_sub": self.in_sub > 0 or bool(base and base["in_sub"]),
        }

    def reparse_word(self, cmd: Command, w: Word, opts: set[str]) -> None:
        text, lo, hi = w._lit
        self.script.options_set.update(opts)
        self.child(text, lo, hi, set(opts), self.outer_info(cmd, f"{cmd.name} -c"))

    def reparse_heredoc(self, cmd: Command, r: Redirect, node: Any,
                        outer_redirects: list[Any]) -> None:
        for hr in outer_redirects:
            if hr.type != "heredoc_redirect":
                continue
            for hc in hr.named_children:
                if hc.type == "heredoc_body":
                    s, e = self.rng(hc)
                    if self.text[s:e] != r.body:
                        continue
                    r_ = _shell_flags(cmd.argv[1:])
                    opts = set(r_[2]) if r_ else set()
                    self.script.options_set.update(opts)
                    self.child(self.text[s:e], list(range(s, e)), list(range(s + 1, e + 1)),
                               opts, self.outer_info(cmd, f"{cmd.name} <<"))
                    return


# ---------------------------------------------------------------------------------- entry
def parse_shell(text: str, offsets: OffsetMap | None = None, *,
                options: Iterable[str] = ()) -> Script:
    """Parse a shell script into simple commands.

    Args:
        text: the script as the shell sees it (str; may hold non-ASCII and lone surrogates).
        offsets: maps indices of ``text`` (code points) to source offsets; ``None`` = identity
            (spans are then indices into ``text``).
        options: shell options in effect at the start (e.g. ``{"errexit", "pipefail"}`` from a
            ``SHELL ["/bin/bash", "-eo", "pipefail", "-c"]``).

    Returns:
        A :class:`Script`. Never raises: on unexpected trouble (deep recursion, a tree-sitter
        failure) it returns the commands found so far with ``has_error`` set.
    """
    opts = set(options)
    script = Script(text=text, options_set=set(opts))
    try:
        w = _Walker(_Ctx(text, None, None, _Root(offsets)), script, 0, opts, None)
        w.run()
    except Exception:  # noqa: BLE001 - never let a shell body kill the run
        script.has_error = True
    return script
