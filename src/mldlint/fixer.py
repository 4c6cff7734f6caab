"""Fixes as text edits on the original source, and the loop that applies them
(DESIGN.md "Rules, fixes, suppressions").

The model:

* an :class:`Edit` replaces ``text[start:end]`` (offsets into :attr:`SourceFile.text`, code
  points, half-open) with new text; ``path`` is ``None`` for the linted file, or the path of a
  second file the fix writes (``.dockerignore`` for MLD405);
* a :class:`Fix` is a tuple of non-overlapping edits, an applicability (``safe``, ``unsafe``,
  ``suggest``) and a short imperative title.

:func:`fix_source` lints, applies every applicable fix whose edits do not overlap an edit of a
fix that starts earlier in the file (the later one is left for the next pass), re-parses and
re-lints, until no applicable fix remains. Edits are applied bottom-up, so the offsets of one
edit are not shifted by another. Guards (each leaves the file unchanged and names the rule):

* at most :data:`MAX_PASSES` passes;
* a cycle check: the text (with any second files) hashes to a state seen before;
* a parse check: a fix that turns a file without syntax errors into one with syntax errors
  (MLD001), or adds syntax errors to a file that had some, is refused.

Newlines: rules write inserted text with ``\\n``. When the file's dominant newline is ``\\r\\n``
(:attr:`SourceFile.newline`), every ``\\n`` of inserted text that is not already preceded by
``\\r`` becomes ``\\r\\n`` at apply time. Every character outside an edit is kept, so CRLF, tabs,
a BOM and undecodable bytes (kept as lone surrogates) survive byte for byte.

Second files (``Edit.path``): their edits are offsets into that file's text as it is on disk
(an empty text when it does not exist yet). They are applied only when the file lies inside
the build context (never for stdin) and are ``.dockerignore`` files (``.dockerignore`` or
``<Dockerfile>.dockerignore``), and only in the first pass that proposes them: rules read
the build context from disk, so later passes would propose the same edits again.

:func:`write_atomic` writes a file the way ``--fix`` does: a temporary file in the same folder,
fsync, ``os.replace``; the file's mode is kept; a file whose bytes would not change is not
touched.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Diagnostic
    from .source import SourceFile

APPLICABILITIES = ("safe", "unsafe", "suggest")

#: the most lint-and-fix passes over one file before giving up (a guard).
MAX_PASSES = 10


@dataclass(frozen=True)
class Edit:
    """Replace source ``text[start:end]`` (offsets, code points, half-open) with ``text``.
    ``path`` is ``None`` for the linted file, or the path of a second file (``.dockerignore``)."""

    start: int
    end: int
    text: str
    path: str | None = None


@dataclass(frozen=True)
class Saving:
    """An estimate of what a fix takes out of the image.

    Attributes:
        bytes: at least this many bytes (from :mod:`mldlint.knowledge.sizes`).
        kind: what is saved, a short noun phrase shown in the summary ("pip cache",
            "apt recommends", "apt lists", "slim base", "runtime base", "CPU torch").
    """

    bytes: int
    kind: str


@dataclass(frozen=True)
class Fix:
    """A set of non-overlapping edits with an applicability (``safe``, ``unsafe``, ``suggest``),
    a short imperative title ("Add --no-cache-dir") and, where the knowledge base can tell, an
    estimate of the image size the fix saves."""

    edits: tuple[Edit, ...]
    applicability: str
    title: str
    saves: Saving | None = None


@dataclass
class FileChange:
    """A second file a fix writes (``.dockerignore``).

    Attributes:
        path: the path as the rule gave it.
        before: its bytes before the fixes (``b""`` when it did not exist).
        after: its bytes after the fixes.
        existed: whether it existed.
        rules: IDs of the rules whose fixes edited it.
    """

    path: str
    before: bytes
    after: bytes
    existed: bool
    rules: list[str] = field(default_factory=list)


@dataclass
class FixResult:
    """What :func:`fix_source` did to one file.

    Attributes:
        text: the fixed text (the original text when nothing applied or a guard tripped).
        applied: ``(rule, title)`` of every finding whose fix was applied, in order.
        diagnostics: the findings left after fixing (of the returned text).
        guard_tripped: ``None``, or why the fixes were abandoned, naming the rule(s).
        other_files: second files the fixes write.
        refused: ``(rule, title, reason)`` of fixes that were not applied for a reason other
            than a guard (an edit outside the build context, invalid offsets).
        saved: the :class:`Saving` estimates of the applied fixes (those that have one).
        passes: how many passes changed the text.
    """

    text: str
    applied: list[tuple[str, str]] = field(default_factory=list)
    diagnostics: list["Diagnostic"] = field(default_factory=list)
    guard_tripped: str | None = None
    other_files: list[FileChange] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    passes: int = 0
    saved: list[Saving] = field(default_factory=list)

    def changed(self, source: "SourceFile") -> bool:
        """Whether the text differs from ``source``'s or a second file changes."""
        return self.text != source.text or any(c.before != c.after for c in self.other_files)


# ---------------------------------------------------------------------- applying edits
def adapt_newlines(text: str, newline: str) -> str:
    """``text`` with each ``\\n`` not preceded by ``\\r`` turned into ``newline``."""
    if newline == "\n" or "\n" not in text:
        return text
    out = []
    prev = ""
    for ch in text:
        if ch == "\n" and prev != "\r":
            out.append(newline)
        else:
            out.append(ch)
        prev = ch
    return "".join(out)


def edits_conflict(a: Edit, b: Edit) -> bool:
    """Whether two edits of the same file overlap (sharing a start point counts: the order of
    two insertions at one offset would be ambiguous)."""
    if a.start == b.start:
        return True
    return a.start < b.end and b.start < a.end


def apply_edits(text: str, edits: Iterable[Edit], newline: str = "\n") -> str:
    """Apply non-overlapping ``edits`` to ``text`` bottom-up; inserted text gets ``newline``.

    Raises:
        ValueError: an edit is out of range, or two edits overlap.
    """
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    n = len(text)
    for i, e in enumerate(ordered):
        if not 0 <= e.start <= e.end <= n:
            raise ValueError(f"edit {e.start}..{e.end} outside the text (length {n})")
        if i and edits_conflict(ordered[i - 1], e):
            raise ValueError(f"edits {ordered[i - 1].start}..{ordered[i - 1].end} and "
                             f"{e.start}..{e.end} overlap")
    for e in reversed(ordered):
        text = text[:e.start] + adapt_newlines(e.text, newline) + text[e.end:]
    return text


# ---------------------------------------------------------------------- the loop
def applicable(fix: "Fix | None", unsafe: bool) -> bool:
    """Whether ``--fix`` applies ``fix`` (``safe``; ``unsafe`` too with ``--unsafe-fixes``)."""
    if fix is None or not fix.edits:
        return False
    return fix.applicability == "safe" or (unsafe and fix.applicability == "unsafe")


def _inside(path: str, folder: str) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([real, root]) == root
    except ValueError:  # different drives
        return False


class _OtherFile:
    def __init__(self, path: str) -> None:
        from .source import BinaryFileError, SourceFile

        self.path = path
        self.error: str | None = None
        self.existed = os.path.lexists(path)
        self.rules: list[str] = []
        data = b""
        if self.existed:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                self.error = exc.strerror or str(exc)
        self.before = data
        try:
            self.source = SourceFile.from_bytes(data, path=path)
        except BinaryFileError as exc:
            self.error = str(exc)
            self.source = SourceFile(path=path, text="")
        self.text = self.source.text
        self.done = False  # edited in an earlier pass: later proposals are stale

    @property
    def newline(self) -> str:
        return self.source.newline if "\n" in self.source.text else "\n"


def _state_hash(text: str, others: Mapping[str, _OtherFile]) -> str:
    import hashlib  # only when fixing (start-up time)

    h = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    for path in sorted(others):
        h.update(b"\0" + path.encode("utf-8", "surrogatepass") + b"\0")
        h.update(others[path].text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _syntax_errors(source: "SourceFile") -> int:
    from .parser import parse

    try:
        return len(parse(source).errors)
    except Exception:  # noqa: BLE001 - parse() must not raise; count a crash as an error
        return 1 << 30


def _edit_sort_key(fix: Fix) -> tuple[int, int]:
    own = [e for e in fix.edits if e.path is None]
    if own:
        first = min(own, key=lambda e: (e.start, e.end))
        return (first.start, first.end)
    return (1 << 62, 0)


def _valid(fix: Fix, text: str, others: Mapping[str, _OtherFile]) -> str | None:
    """``None`` when every edit is in range and the fix's own edits do not overlap, else why."""
    by_path: dict[str | None, list[Edit]] = {}
    for e in fix.edits:
        by_path.setdefault(e.path, []).append(e)
    for path, edits in by_path.items():
        target = text if path is None else others[path].text
        try:
            apply_edits(target, edits)
        except ValueError as exc:
            return f"invalid fix: {exc}"
    return None


def fix_source(source: "SourceFile", selected: Iterable[str], context_dir: str | None = None,
               unsafe: bool = False, *, max_passes: int = MAX_PASSES,
               **lint_options: Any) -> FixResult:
    """Fix one file to a fixed point.

    Args:
        source: the file.
        selected: rule IDs to run (as for :func:`mldlint.engine.lint_source`).
        context_dir: the build context folder (``None``: second-file fixes are refused).
        unsafe: also apply ``unsafe`` fixes (``suggest`` ones are never applied).
        max_passes: the pass guard.
        lint_options: passed to :func:`~mldlint.engine.lint_source` (``metas``, ``options``,
            ``severity_overrides``).

    Returns:
        A :class:`FixResult`. Nothing is written; see :func:`write_atomic`.
    """
    from .engine import lint_source
    from .source import SourceFile

    selected = set(selected)

    def relint(text: str) -> list["Diagnostic"]:
        src = SourceFile(path=source.path, text=text, bom=source.bom, encoding=source.encoding)
        return lint_source(src, selected, context_dir, **lint_options)

    original = list(relint(source.text))
    text = source.text
    diags = original
    others: dict[str, _OtherFile] = {}
    applied: list[tuple[str, str]] = []
    saved: list[Saving] = []
    refused: list[tuple[str, str, str]] = []
    refused_keys: set[tuple[str, Fix]] = set()
    history: list[tuple[str, list[str]]] = [(_state_hash(text, others), [])]
    errors_now: int | None = None  # syntax errors of the current text, counted when needed
    passes = 0

    def give_up(reason: str) -> FixResult:
        return FixResult(text=source.text, diagnostics=original, guard_tripped=reason,
                         refused=refused, passes=passes)

    def refuse(d: "Diagnostic", reason: str) -> None:
        assert d.fix is not None
        key = (d.rule, d.fix)
        if key not in refused_keys:
            refused_keys.add(key)
            refused.append((d.rule, d.fix.title, reason))

    while True:
        # which fixes can go in this pass
        candidates = [d for d in diags if applicable(d.fix, unsafe)
                      and getattr(d, "suppression", None) is None]  # a suppressed finding stays
        chosen: list["Diagnostic"] = []
        taken: dict[str | None, list[Edit]] = {}
        chosen_fixes: dict[Fix, None] = {}
        for d in sorted(candidates, key=lambda d: (_edit_sort_key(d.fix), d.rule)):  # type: ignore[arg-type]
            fix = d.fix
            assert fix is not None
            if fix in chosen_fixes:  # the same fix from another finding: fixed along with it
                chosen.append(d)
                continue
            stale = False
            problem = None
            for e in fix.edits:
                if e.path is None:
                    continue
                if context_dir is None:
                    problem = f"it writes {e.path}, but there is no build context"
                elif not _inside(e.path, context_dir):
                    problem = f"it writes {e.path}, outside the build context {context_dir}"
                elif not os.path.basename(e.path).endswith(".dockerignore"):
                    # the only second files a fix may write (MLD405): never anything else
                    problem = f"it writes {e.path}, which is not a .dockerignore file"
                else:
                    if e.path not in others:
                        others[e.path] = _OtherFile(e.path)
                    if others[e.path].error:
                        problem = f"cannot read {e.path}: {others[e.path].error}"
                    elif others[e.path].done:
                        stale = True
                if problem:
                    break
            if problem:
                refuse(d, problem)
                continue
            if stale:
                continue
            problem = _valid(fix, text, others)
            if problem:
                refuse(d, problem)
                continue
            if any(edits_conflict(e, t) for e in fix.edits for t in taken.get(e.path, ())):
                continue  # overlaps an earlier fix: left for the next pass
            # a fix that changes nothing is not applied (it would look like a cycle)
            if all((text if e.path is None else others[e.path].text)[e.start:e.end] == e.text
                   for e in fix.edits):
                continue
            for e in fix.edits:
                taken.setdefault(e.path, []).append(e)
            chosen_fixes[fix] = None
            chosen.append(d)
        if not chosen:
            break

        rules = sorted({d.rule for d in chosen})
        if passes >= max_passes:
            return give_up(f"no fixed point after {max_passes} passes "
                           f"(still fixing: {', '.join(rules)})")

        new_text = apply_edits(text, taken.get(None, ()), source.newline)
        touched: set[str] = set()
        for path, edits in taken.items():
            if path is None:
                continue
            other = others[path]
            other.text = apply_edits(other.text, edits, other.newline)
            touched.add(path)
        for d in chosen:
            for e in d.fix.edits:  # type: ignore[union-attr]
                if e.path is not None and d.rule not in others[e.path].rules:
                    others[e.path].rules.append(d.rule)

        # the parse guard
        if new_text != text:
            new_src = SourceFile(path=source.path, text=new_text, bom=source.bom,
                                 encoding=source.encoding)
            if errors_now is None:
                errors_now = _syntax_errors(SourceFile(path=source.path, text=text,
                                                       bom=source.bom, encoding=source.encoding))
            new_errors = _syntax_errors(new_src)
            if new_errors > errors_now:
                culprits = _culprits(text, [d for d in chosen if d.fix is not None],
                                     source, errors_now) or rules
                return give_up(f"fix of {', '.join(culprits)} would introduce a syntax error")
            errors_now = new_errors

        passes += 1
        for path in touched:
            others[path].done = True
        applied.extend((d.rule, d.fix.title) for d in chosen)  # type: ignore[union-attr]
        saved.extend(f.saves for f in chosen_fixes if f.saves is not None)
        text = new_text

        # the cycle guard
        h = _state_hash(text, others)
        for i, (seen, _) in enumerate(history):
            if seen == h:
                involved = sorted({r for _, rs in history[i + 1:] for r in rs} | set(rules))
                return give_up(f"fixes of {', '.join(involved)} loop (the text came back to an "
                               f"earlier state after {passes} passes)")
        history.append((h, rules))
        diags = relint(text)

    changes = [FileChange(path=o.path, before=o.before, after=o.source.encode(o.text),
                          existed=o.existed, rules=o.rules)
               for o in others.values() if o.done]
    return FixResult(text=text, applied=applied, diagnostics=diags, other_files=changes,
                     refused=refused, passes=passes, saved=saved)


def _culprits(text: str, chosen: list["Diagnostic"], source: "SourceFile",
              errors_before: int) -> list[str]:
    """The rules whose fix alone adds syntax errors to ``text``."""
    from .source import SourceFile

    out: list[str] = []
    for d in chosen:
        own = [e for e in d.fix.edits if e.path is None]  # type: ignore[union-attr]
        if not own:
            continue
        try:
            t = apply_edits(text, own, source.newline)
        except ValueError:
            continue
        src = SourceFile(path=source.path, text=t, bom=source.bom, encoding=source.encoding)
        if _syntax_errors(src) > errors_before and d.rule not in out:
            out.append(d.rule)
    return sorted(out)


# ---------------------------------------------------------------------- writing
def write_atomic(path: str, data: bytes, *, expected: bytes | None = None) -> bool:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync,
    ``os.replace``. The mode of an existing file is kept, and its owner and group where the
    process may set them (run as root, the file does not become root's); a symlink's target is
    written, the link stays; a new file gets the default mode (``0o666`` minus the umask).

    Args:
        expected: the bytes the file had when it was read; when the file now differs, nothing
            is written and ``OSError`` is raised (it changed while being fixed).

    Raises:
        OSError: the file changed since it was read, or cannot be written: a read-only file
            (one the process may not write to, as ``os.access`` tells) is refused with
            ``PermissionError`` rather than replaced, and a folder where the temporary file
            cannot be created gives the system's error.

    Returns:
        False when the file already holds ``data`` (it is not touched), else True.
    """
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as fh:
            current: bytes | None = fh.read()
        st = os.stat(target)
        mode: int | None = stat.S_IMODE(st.st_mode)
        owner: tuple[int, int] | None = (st.st_uid, st.st_gid)
    except FileNotFoundError:
        current, mode, owner = None, None, None
    if current == data:
        return False
    if expected is not None and current != expected:
        raise OSError(f"{path} changed on disk while it was being fixed; not written")
    if current is not None and not os.access(target, os.W_OK):
        # the rename below would replace it anyway: honour the mode as a plain write would
        raise PermissionError(13, "Permission denied (the file is read-only); not written",
                              path)
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    folder = os.path.dirname(target) or "."
    import tempfile  # only when writing (start-up time)

    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".",
                               suffix=".mldlint-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if owner is not None and hasattr(os, "chown"):
            tst = os.stat(tmp)
            if (tst.st_uid, tst.st_gid) != owner:
                try:
                    os.chown(tmp, *owner)
                except OSError:  # not permitted (not root): the file is the writer's
                    pass
        os.chmod(tmp, mode)  # after chown, which may clear set-id bits
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename durable (best effort; not possible on every platform)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return True


_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


def unified_diff(path: str, before: str, after: str, *, new: bool = False) -> str:
    """A unified diff of two texts (``--- path`` / ``+++ path``; ``--- /dev/null`` for a
    ``new`` file, as git writes it), with git's ``\\ No newline at end of file`` marker;
    empty when they are equal."""
    import difflib

    if before == after:
        return ""
    a = _LINES.findall(before)
    b = _LINES.findall(after)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, fromfile="/dev/null" if new else path, tofile=path,
                                     lineterm="\n"):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
