"""Syntax tree nodes of a Dockerfile: a read-only index into :class:`~mldlint.source.SourceFile`.

Every node keeps exact *spans*: half-open ``(start, end)`` offsets into ``SourceFile.text``
(code points, 0-based). Lines are 1-based. Nothing here re-serialises text; fixes edit the
source through spans.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple


class Span(NamedTuple):
    """Half-open range of offsets ``[start, end)`` into the source text (code points)."""

    start: int
    end: int


class OffsetMap:
    """Maps indices of a derived text (a logical line joined from continuation lines, a shell
    script assembled from a RUN line and its heredocs) back to offsets in the source text.

    The derived text is a concatenation of *segments*, each a verbatim copy of a source slice or
    a synthetic string (e.g. the ``"\\n"`` put between a RUN line and its heredoc body) that maps
    to a single source offset.
    """

    __slots__ = ("_starts", "_src", "_lens", "_verbatim", "length", "origin")

    def __init__(self, origin: int = 0) -> None:
        #: the source offset an empty map maps to (where the derived text would start).
        self.origin = origin
        self._starts: list[int] = []
        self._src: list[int] = []
        self._lens: list[int] = []
        self._verbatim: list[bool] = []
        self.length = 0

    def add(self, source_start: int, length: int, verbatim: bool = True) -> None:
        """Append a segment of ``length`` characters copied from ``source_start`` (or, when not
        ``verbatim``, synthetic characters all mapped to ``source_start``)."""
        if length <= 0:
            return
        if (self._starts and verbatim and self._verbatim[-1]
                and self._src[-1] + self._lens[-1] == source_start):
            self._lens[-1] += length
        else:
            self._starts.append(self.length)
            self._src.append(source_start)
            self._lens.append(length)
            self._verbatim.append(verbatim)
        self.length += length

    def to_source(self, index: int) -> int:
        """Source offset of derived-text ``index`` (0 <= index <= length). ``length`` maps one
        past the last character of the last segment."""
        if not self._starts:
            return self.origin
        if index >= self.length:
            i = len(self._starts) - 1
            return self._src[i] + (self._lens[i] if self._verbatim[i] else 0)
        i = bisect.bisect_right(self._starts, index) - 1
        if not self._verbatim[i]:
            return self._src[i]
        return self._src[i] + (index - self._starts[i])

    def span(self, start: int, end: int) -> Span:
        """Source span covering derived-text ``[start, end)`` (end > start: end maps from the last
        character + 1, so a range ending at a segment boundary does not run into the next one)."""
        if end <= start:
            s = self.to_source(start)
            return Span(s, s)
        return Span(self.to_source(start), self.to_source(end - 1) + 1)

    def sub(self, start: int, end: int) -> "OffsetMap":
        """The map of the derived substring ``[start, end)``."""
        out = OffsetMap(self.to_source(start))
        i = 0
        while i < len(self._starts):
            seg_s, seg_len = self._starts[i], self._lens[i]
            seg_e = seg_s + seg_len
            lo, hi = max(seg_s, start), min(seg_e, end)
            if lo < hi:
                if self._verbatim[i]:
                    out.add(self._src[i] + lo - seg_s, hi - lo)
                else:
                    out.add(self._src[i], hi - lo, verbatim=False)
            i += 1
        return out


@dataclass
class Text:
    """A derived text (logical line, argument string, shell script) with its map to the source."""

    value: str
    map: OffsetMap

    def span(self, start: int = 0, end: int | None = None) -> Span:
        """Source span of ``value[start:end]``."""
        return self.map.span(start, len(self.value) if end is None else end)

    def slice(self, start: int, end: int | None = None) -> "Text":
        """The sub-text ``value[start:end]`` with its own map."""
        end = len(self.value) if end is None else end
        return Text(self.value[start:end], self.map.sub(start, end))

    def rstrip_text(self) -> "Text":
        """The text without trailing whitespace."""
        return self.slice(0, len(self.value.rstrip()))


@dataclass
class Comment:
    """A comment line (``#`` first non-blank character). ``text`` is what follows ``#``,
    stripped; ``span`` covers ``#`` to the end of the line (newline excluded)."""

    text: str
    span: Span
    line: int


@dataclass
class Directive:
    """A parser directive at the top of the file (``# syntax=...``, ``# escape=...``,
    ``# check=...``). ``name`` is lower-cased."""

    name: str
    value: str
    span: Span
    line: int


@dataclass
class Flag:
    """A builder flag such as ``--mount=type=cache,target=/root/.cache/pip``.

    ``raw`` is the flag as BuildKit reports it (quotes and escapes removed, e.g. ``--from=base``);
    ``name`` is the part between ``--`` and ``=`` (as written, e.g. ``mount``); ``value`` is the
    part after ``=`` or ``None`` for a bare flag (``--link``).
    """

    raw: str
    name: str
    value: str | None
    span: Span


@dataclass
class Arg:
    """One argument as BuildKit's parser reports it (its ``value`` tuple), with the source span
    it came from. For ENV/LABEL key-value pairs BuildKit reports keys and values as separate
    arguments (``A=1`` gives ``A`` and ``1``); for shell-form RUN/CMD/ENTRYPOINT the whole
    command string is one argument."""

    value: str
    span: Span


@dataclass
class Heredoc:
    """A here-document attached to RUN/COPY/ADD (``<<EOF`` ... ``EOF``).

    Attributes:
        name: the delimiter with quotes removed (``EOF`` for ``<<'EOF'``).
        chomp: ``<<-``: leading tabs are stripped from the terminator line (and content).
        expand: False when the delimiter was quoted (no variable expansion of the content).
        fd: the file descriptor digits before ``<<`` (0 when none).
        marker: the ``<<EOF`` word in the instruction line (a str).
        content: the body exactly as read (lines with their newlines), without the terminator.
        body_span: source span of ``content``.
        terminator_span: source span of the terminator line (newline excluded); ``None`` when
            the heredoc never ends (a syntax error).
    """

    name: str
    chomp: bool
    expand: bool
    fd: int
    marker: str
    content: str
    body_span: Span
    terminator_span: Span | None


@dataclass
class Instruction:
    """One Dockerfile instruction (one logical line plus its heredoc bodies).

    Attributes:
        keyword: upper-case instruction word (``RUN``); as written in ``keyword_text``.
        keyword_span: span of the instruction word.
        span: from the keyword to the end of the last line it occupies (newline excluded).
        start_line, end_line: 1-based physical lines (``end_line`` includes heredoc bodies and
            comment or blank lines swallowed by a continuation).
        line_text: the logical line (continuations joined the way BuildKit joins them:
            escape and trailing blanks removed, no newline inserted; comment lines inside the
            continuation dropped), with its map to the source.
        rest: the arguments after the flags, trimmed (BuildKit's ``args`` string).
        flags: leading ``--name[=value]`` builder flags.
        args: BuildKit's ``value`` list (see :class:`Arg`).
        is_json: exec form (a JSON array of strings).
        heredocs: here-documents, in order.
        sub: for ONBUILD, the trigger instruction.
        comments: comment lines directly above (no blank line between) and inside the
            continuation.
        index: 0-based position in :attr:`Dockerfile.instructions`.
    """

    keyword: str
    keyword_text: str
    keyword_span: Span
    span: Span
    start_line: int
    end_line: int
    line_text: Text
    rest: Text
    flags: list[Flag] = field(default_factory=list)
    args: list[Arg] = field(default_factory=list)
    is_json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    sub: "Instruction | None" = None
    comments: list[Comment] = field(default_factory=list)
    index: int = -1
    #: set by the parser's analysis: MLD101 shows this line to be string content swallowed from
    #: a RUN above it (rules skip such instructions).
    swallowed: bool = False
    #: set by the parser's analysis: offset in ``rest.value`` where an MLD102 trailing comment
    #: starts (the instruction is modelled without it), else ``None``.
    trailing_comment: int | None = None
    #: BuildKit's own argument list when the analysis replaced ``args`` with what the author
    #: meant (an MLD102 trailing comment removed); ``None`` otherwise.
    buildkit_args: "list[Arg] | None" = None

    # ------------------------------------------------------------------ helpers
    def flag(self, name: str) -> Flag | None:
        """The last flag called ``name`` (case-insensitive, without ``--``), or ``None``."""
        found = None
        for f in self.flags:
            if f.name.lower() == name:
                found = f
        return found

    def flags_named(self, name: str) -> list[Flag]:
        """All flags called ``name`` (case-insensitive, without ``--``)."""
        return [f for f in self.flags if f.name.lower() == name]

    @property
    def effective_rest(self) -> Text:
        """``rest`` without an MLD102 trailing comment (what the author meant)."""
        if self.trailing_comment is None:
            return self.rest
        return self.rest.slice(0, self.trailing_comment).rstrip_text()

    @property
    def shell_form(self) -> bool:
        """True for RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD written as a shell string (not JSON)."""
        return not self.is_json

    @property
    def values(self) -> list[str]:
        """``[a.value for a in args]``."""
        return [a.value for a in self.args]

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Instruction {self.keyword} L{self.start_line}-{self.end_line} {self.values!r}>"


@dataclass
class ParseError:
    """A problem BuildKit's parser or its instruction checks would reject (reported as MLD001).
    ``span`` locates it; ``message`` is what BuildKit would say."""

    message: str
    span: Span
    instruction: Instruction | None = None


@dataclass
class Stage:
    """A build stage: its FROM and the instructions up to the next FROM.

    Attributes:
        index: 0-based stage index (``COPY --from=0``); -1 for the implicit stage of a fragment
            (instructions with no FROM before them).
        name: the ``AS`` name as written (``None`` when unnamed).
        from_: the FROM instruction (``None`` for the implicit stage).
        base: the base image word as written (``nvidia/cuda:${CUDA}-runtime``), unresolved.
        instructions: the stage's instructions after FROM.
    """

    index: int
    name: str | None
    from_: Instruction | None
    base: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.instructions)


@dataclass
class Dockerfile:
    """A parsed Dockerfile.

    Attributes:
        source: the :class:`~mldlint.source.SourceFile`.
        escape: the escape character (``\\`` or a backtick from ``# escape=```).
        directives: parser directives at the top.
        instructions: every instruction, in order (including those before the first FROM).
        preamble: instructions before the first FROM (global ARGs, or a fragment's body).
        stages: build stages; when the file has instructions other than ARG before any FROM
            (a fragment), the first stage is an implicit one with ``index == -1``.
        comments: every comment line.
        errors: syntax errors (MLD001).
        empty_continuation_lines: 1-based lines of blank lines inside continuations.
        unterminated_strings: see the field's comment.
    """

    source: "SourceFile"  # noqa: F821
    escape: str = "\\"
    directives: list[Directive] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    preamble: list[Instruction] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    empty_continuation_lines: list[int] = field(default_factory=list)
    #: shell-form RUNs whose quoted string the line ends (MLD101), with the 1-based line on
    #: which the string closes; the instructions in between are marked ``swallowed``.
    unterminated_strings: "list[tuple[Instruction, int]]" = field(default_factory=list)

    def directive(self, name: str) -> Directive | None:
        """The parser directive called ``name`` (lower case), or ``None``."""
        for d in self.directives:
            if d.name == name:
                return d
        return None

    def stage_of(self, instruction: Instruction) -> Stage | None:
        """The stage an instruction belongs to (its FROM's stage for a FROM)."""
        for st in self.stages:
            if st.from_ is instruction or any(i is instruction for i in st.instructions):
                return st
        return None
