"""The Dockerfile parser: physical lines -> instructions with exact spans.

It follows BuildKit's parser (``frontend/dockerfile/parser``), which is the reference: the
differential test compares instruction keywords, lines, flags, arguments and heredocs with the
PyPI ``dockerfile`` package (a wrapper of BuildKit's Go parser). Behaviours reproduced:

* parser directives (``# syntax=``, ``# escape=``, ``# check=``) only before any other line;
* comment lines (``#`` after optional blanks) are dropped, also inside continuations;
* a line ends in a continuation when its last non-blank character is the escape character;
  continued lines are joined with the escape character and trailing blanks removed and
  nothing inserted; blank lines inside a continuation are skipped (and recorded);
* instruction word and ``--flags`` are split the way BuildKit's ``splitCommand`` does;
* heredocs (``<<EOF``, ``<<-EOF``, quoted names, several per instruction) on RUN/COPY/ADD in
  shell form (and ONBUILD of those);
* the per-instruction argument parsers (JSON or not, ENV/LABEL key-value, ARG words, ...).

``parse()`` never raises on bad input: problems become :class:`~.nodes.ParseError` entries.
"""

from __future__ import annotations

import json
import re

from ..source import SourceFile
from .checks import build_stages, check_instructions, find_swallowed_lines, find_trailing_comments
from .nodes import (
    Arg,
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    OffsetMap,
    ParseError,
    Span,
    Stage,
    Text,
)

#: instruction words BuildKit knows (lower case)
KNOWN_INSTRUCTIONS = frozenset(
    "add arg cmd copy entrypoint env expose from healthcheck label maintainer onbuild run "
    "shell stopsignal user volume workdir".split()
)
HEREDOC_INSTRUCTIONS = frozenset({"add", "copy", "run"})


_DIRECTIVE_RE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC_RE = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_GO_WS = "\t\v\f\r "
_WS_SPLIT_RE = re.compile(r"[\t\v\f\r ]+")
_MAX_LINE_BYTES = 64 * 1024  # bufio.MaxScanTokenSize in BuildKit's scanner


def _is_space(ch: str) -> bool:
    # Go's unicode.IsSpace
    return ch in "\t\n\v\f\r \x85\xa0" or (ch.isspace() and ch not in "\x1c\x1d\x1e\x1f")


def _lstrip_go(s: str) -> str:
    i = 0
    n = len(s)
    while i < n and _is_space(s[i]):
        i += 1
    return s[i:]


def _trim_go(s: str) -> tuple[int, int]:
    """Return (start, end) of ``s`` with Go's strings.TrimSpace applied."""
    i, j = 0, len(s)
    while i < j and _is_space(s[i]):
        i += 1
    while j > i and _is_space(s[j - 1]):
        j -= 1
    return i, j


class _PhysLine:
    __slots__ = ("start", "end", "content_end", "number")

    def __init__(self, start: int, end: int, content_end: int, number: int) -> None:
        self.start = start  # offset of first char
        self.end = end  # offset past the newline (or end of text)
        self.content_end = content_end  # offset past the last char before trailing \r/\n
        self.number = number  # 1-based


def _physical_lines(text: str) -> list[_PhysLine]:
    lines = []
    pos = 0
    n = len(text)
    num = 0
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl == -1 else nl + 1
        ce = end
        while ce > pos and text[ce - 1] in "\r\n":
            ce -= 1
        num += 1
        lines.append(_PhysLine(pos, end, ce, num))
        pos = end
    return lines


class _Directives:
    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: set[str] = set()
        self._set_cont_re()

    def _set_cont_re(self) -> None:
        e = re.escape(self.escape)
        self.cont_re = re.compile(r"([^" + e + r"])" + e + r"[ \t]*$|^" + e + r"[ \t]*$")

    def possible(self, line: str) -> str | None:
        """Look at a (left-trimmed, newline-less) line; return an error message or None.
        Returns the directive (name, value) through ``self.last``."""
        self.last = None
        if self.done:
            return None
        m = _DIRECTIVE_RE.match(line)
        if not m:
            self.done = True
            return None
        key = m.group(1).lower()
        if key not in ("escape", "syntax", "check"):
            self.done = True
            return None
        if key in self.seen:
            return f"only one {key} parser directive can be used"
        self.seen.add(key)
        self.last = (key, m.group(2), m.start(2), m.end(2))
        if key == "escape":
            val = m.group(2)
            if val not in ("`", "\\"):
                return f"invalid escape token '{val}' does not match ` or \\"
            self.escape = val
            self._set_cont_re()
        return None


def _trim_continuation(line: str, d: _Directives) -> tuple[int, bool]:
    """Return (length of the kept prefix, is_end_of_line)."""
    m = d.cont_re.search(line)
    if not m:
        return len(line), True
    if m.group(1) is not None:
        return m.start() + 1, False
    return m.start(), False


# --------------------------------------------------------------------------- word splitters
def _extract_flags(s: str) -> tuple[int, list[tuple[str, int, int]]]:
    """BuildKit's extractBuilderFlags on ``s``: returns (index where the arguments start,
    [(flag text, start, end)]). Index ``len(s)`` when only flags."""
    words: list[tuple[str, int, int]] = []
    IN_SPACES, IN_WORD, IN_QUOTE = 0, 1, 2
    phase = IN_SPACES
    word: list[str] = []
    wstart = 0
    quote = ""
    blank_ok = False
    n = len(s)
    pos = 0
    while pos <= n:
        ch = s[pos] if pos < n else ""
        if phase == IN_SPACES:
            if pos == n:
                break
            if ch in _GO_WS or ch == "\n" or _is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or s[pos + 1] != "-":
                return pos, words
            phase = IN_WORD
            wstart = pos
        if phase in (IN_WORD, IN_QUOTE) and pos == n:
            w = "".join(word)
            if w != "--" and (blank_ok or w):
                words.append((w, wstart, pos))
            break
        if phase == IN_WORD:
            if _is_space(ch):
                phase = IN_SPACES
                w = "".join(word)
                if w == "--":
                    return pos, words
                if blank_ok or w:
                    words.append((w, wstart, pos))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = IN_QUOTE
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = s[pos]
            word.append(ch)
            pos += 1
            continue
        if phase == IN_QUOTE:
            if ch == quote:
                phase = IN_WORD
                pos += 1
                continue
            if ch == "\\":
                if pos + 1 == n:
                    phase = IN_WORD
                    pos += 1
                    continue
                pos += 1
                ch = s[pos]
            word.append(ch)
            pos += 1
    return n, words


def _parse_words(rest: str, escape: str) -> list[tuple[str, int, int]]:
    """BuildKit's parseWords (quotes kept): [(word, start, end)] indices into ``rest``."""
    words: list[tuple[str, int, int]] = []
    IN_SPACES, IN_WORD, IN_QUOTE = 0, 1, 2
    phase = IN_SPACES
    word: list[str] = []
    wstart = 0
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == IN_SPACES:
            if pos == n:
                break
            if _is_space(ch):
                pos += 1
                continue
            phase = IN_WORD
            wstart = pos
        if phase in (IN_WORD, IN_QUOTE) and pos == n:
            if blank_ok or word:
                words.append(("".join(word), wstart, pos))
            break
        if phase == IN_WORD:
            if _is_space(ch):
                phase = IN_SPACES
                if blank_ok or word:
                    words.append(("".join(word), wstart, pos))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = IN_QUOTE
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        if phase == IN_QUOTE:
            if ch == quote:
                phase = IN_WORD
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    phase = IN_WORD
                    pos += 1
                    continue
                pos += 1
                word.append(ch)
                ch = rest[pos]
            word.append(ch)
            pos += 1
    return words


def _ws_split(rest: str) -> list[tuple[str, int, int]]:
    """BuildKit's parseStringsWhitespaceDelimited: regexp split on ASCII blanks."""
    if rest == "":
        return []
    out = []
    pos = 0
    for m in _WS_SPLIT_RE.finditer(rest):
        out.append((rest[pos:m.start()], pos, m.start()))
        pos = m.end()
    out.append((rest[pos:], pos, len(rest)))
    return out


class _GoJSONError(Exception):
    pass


def _reject_constant(name: str) -> None:
    raise _GoJSONError(name)


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # type: ignore[arg-type]
_JSON_STR_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _parse_json(rest: str) -> tuple[list[tuple[str, int, int]] | None, str | None]:
    """BuildKit's parseJSON: returns (elements with spans, None), (None, None) when not JSON,
    or (None, error) when it is a JSON array with a non-string element."""
    stripped = _lstrip_go(rest)
    off = len(rest) - len(stripped)
    if not stripped.startswith("["):
        return None, None
    try:
        value, end = _JSON_DECODER.raw_decode(stripped)
    except (ValueError, _GoJSONError, RecursionError):
        return None, None
    if not isinstance(value, list):
        return None, None
    if any(not isinstance(v, str) for v in value):
        return None, "when using JSON array syntax, arrays must be comprised of strings only"
    # spans of the string literals, in order (the top-level array holds only strings)
    spans = [(m.start() + off, m.end() + off) for m in _JSON_STR_RE.finditer(stripped, 0, end)]
    if len(spans) != len(value):  # pragma: no cover - defensive
        spans = [(off, off + end)] * len(value)
    return [(v, s, e) for v, (s, e) in zip(value, spans)], None


# --------------------------------------------------------------------------- heredoc words
def _shell_words(line: str) -> list[str]:
    """Words of ``line`` the way BuildKit's shell lexer (raw quotes, raw escapes, unset
    variables kept) splits them, for heredoc detection."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch in " \t\r\n":
            if in_word:
                words.append("".join(cur))
                cur = []
                in_word = False
            i += 1
            continue
        in_word = True
        if ch == "\\" and i + 1 < n:
            cur.append(line[i:i + 2])
            i += 2
            continue
        if ch in "'\"":
            j = i + 1
            while j < n and line[j] != ch:
                if ch == '"' and line[j] == "\\" and j + 1 < n:
                    j += 1
                j += 1
            cur.append(line[i:j + 1])
            i = j + 1
            continue
        cur.append(ch)
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def _unquote_word(word: str) -> tuple[str, bool]:
    """Remove shell quotes from ``word``; return (value, had_quotes)."""
    out = []
    quoted = False
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if ch == "\\" and i + 1 < n:
            out.append(word[i + 1])
            i += 2
            continue
        if ch in "'\"":
            quoted = True
            j = word.find(ch, i + 1)
            if j == -1:
                out.append(word[i + 1:])
                break
            out.append(word[i + 1:j])
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out), quoted


def _heredoc_markers(line: str) -> list[tuple[str, bool, bool, int, str]]:
    """[(name, chomp, expand, fd, marker word)] for each heredoc marker in ``line``."""
    out = []
    for word in _shell_words(line):
        m = _HEREDOC_RE.match(word)
        if not m:
            continue
        rest = m.group(3)
        if not rest:
            continue
        if len(_shell_words(rest)) != 1:
            continue
        name, quoted = _unquote_word(rest)
        if not name:
            continue
        fd = int(m.group(1)) if m.group(1) else 0
        out.append((name, m.group(2) == "-", not quoted, fd, word))
    return out


# --------------------------------------------------------------------------- the parser
class _Parser:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.text = source.text
        self.df = Dockerfile(source=source)
        self.d = _Directives()

    def error(self, message: str, span: Span, instr: Instruction | None = None) -> None:
        self.df.errors.append(ParseError(message, span, instr))

    # -- whole file ---------------------------------------------------------------------
    def run(self) -> Dockerfile:
        text = self.text
        lines = _physical_lines(text)
        df = self.df
        i = 0
        n = len(lines)
        pending_comments: list[Comment] = []
        while i < n:
            pl = lines[i]
            raw = text[pl.start:pl.content_end]
            if len(raw.encode("utf-8", "surrogateescape")) >= _MAX_LINE_BYTES:
                self.error(f"dockerfile line greater than max allowed size of {_MAX_LINE_BYTES - 1}",
                           Span(pl.start, pl.content_end))
            stripped = _lstrip_go(raw)
            lead = len(raw) - len(stripped)
            err = self.d.possible(stripped)
            if self.d.last is not None:
                key, val, vs, ve = self.d.last
                df.directives.append(Directive(key, val, Span(pl.start + lead, pl.content_end),
                                               pl.number))
            if err:
                self.error(err, Span(pl.start + lead, pl.content_end))
            i += 1
            if stripped.startswith("#"):
                c = Comment(stripped[1:].strip(), Span(pl.start + lead, pl.content_end), pl.number)
                df.comments.append(c)
                if self.d.last is None:
                    pending_comments.append(c)
                continue
            keep, is_end = _trim_continuation(stripped, self.d)
            if is_end and keep == 0:
                # blank line (or a lone escape): comments above no longer belong to anything
                pending_comments = []
                continue
            lm = OffsetMap(pl.start + lead)
            lm.add(pl.start + lead, keep)
            parts = [stripped[:keep]]
            start_line = pl.number
            end_line = pl.number
            inner_comments: list[Comment] = []
            last_content_end = pl.content_end
            while not is_end and i < n:
                pl2 = lines[i]
                raw2 = text[pl2.start:pl2.content_end]
                self.d.possible(raw2)
                if self.d.last is not None:  # pragma: no cover - directives end at line 1
                    self.d.last = None
                i += 1
                end_line = pl2.number
                last_content_end = pl2.content_end
                s2 = _lstrip_go(raw2)
                if s2.startswith("#"):
                    lead2 = len(raw2) - len(s2)
                    c = Comment(s2[1:].strip(), Span(pl2.start + lead2, pl2.content_end), pl2.number)
                    df.comments.append(c)
                    inner_comments.append(c)
                    continue
                if s2 == "":
                    df.empty_continuation_lines.append(pl2.number)
                    continue
                keep2, is_end = _trim_continuation(raw2, self.d)
                lm.add(pl2.start, keep2)
                parts.append(raw2[:keep2])
            line = Text("".join(parts), lm)
            instr = self.new_instruction(line, start_line, end_line, last_content_end,
                                         pending_comments + inner_comments)
            pending_comments = []
            # heredocs
            target = instr.sub if instr.keyword == "ONBUILD" and instr.sub is not None else instr
            if target.keyword.lower() in HEREDOC_INSTRUCTIONS and not target.is_json:
                for name, chomp, expand, fd, marker in _heredoc_markers(line.value):
                    body_start = lines[i].start if i < n else len(text)
                    content_parts = []
                    term_span = None
                    while i < n:
                        pl3 = lines[i]
                        i += 1
                        cand = text[pl3.start:pl3.content_end]
                        if chomp:
                            cand = cand.lstrip("\t")
                        if cand == name:
                            term_span = Span(pl3.start, pl3.content_end)
                            end_line = pl3.number
                            last_content_end = pl3.content_end
                            break
                        content_parts.append(text[pl3.start:pl3.end])
                        end_line = pl3.number
                        last_content_end = pl3.content_end
                    content = "".join(content_parts)
                    hd = Heredoc(name, chomp, expand, fd, marker, content,
                                 Span(body_start, body_start + len(content)), term_span)
                    target.heredocs.append(hd)
                    if term_span is None:
                        self.error("unterminated heredoc", Span(instr.span.start, last_content_end),
                                   instr)
                        break
                if target is not instr:
                    instr.heredocs = target.heredocs
            instr.end_line = end_line
            instr.span = Span(instr.span.start, max(last_content_end, instr.span.start))
            instr.index = len(df.instructions)
            df.instructions.append(instr)
        if not df.instructions:
            last = lines[-1].number if lines else 1
            pos = lines[-1].start if lines else 0
            self.error("file with no instructions", Span(pos, pos))
            _ = last
        self.df.escape = self.d.escape
        return df

    # -- one logical line ---------------------------------------------------------------
    def new_instruction(self, line: Text, start_line: int, end_line: int, content_end: int,
                        comments: list[Comment]) -> Instruction:
        value = line.value
        ts, te = _trim_go(value)
        m = re.compile(r"[\t\v\f\r ]+").search(value, ts, te)
        kw_end = m.start() if m else te
        kw_text = value[ts:kw_end]
        kw = kw_text.lower()
        if m:
            rest_region_start = m.end()
            off, flag_words = _extract_flags(value[rest_region_start:te])
            args_start = rest_region_start + off
        else:
            flag_words = []
            args_start = te
        a_s, a_e = _trim_go(value[args_start:te])
        rest = line.slice(args_start + a_s, args_start + a_e)
        instr = Instruction(
            keyword=kw.upper(),
            keyword_text=kw_text,
            keyword_span=line.span(ts, kw_end),
            span=Span(line.map.to_source(ts), content_end),
            start_line=start_line,
            end_line=end_line,
            line_text=line,
            rest=rest,
            comments=comments,
        )
        for raw, s, e in flag_words:
            body = raw[2:]
            name, eq, val = body.partition("=")
            base = rest_region_start if m else 0
            instr.flags.append(Flag(raw, name, val if eq else None, line.span(base + s, base + e)))
        self.parse_args(instr, rest)
        return instr

    def parse_args(self, instr: Instruction, rest: Text) -> None:
        kw = instr.keyword.lower()
        r = rest.value
        args: list[tuple[str, int, int]] = []
        if kw in ("cmd", "entrypoint", "run", "shell"):
            if r:
                elems, err = _parse_json(r)
                if err:
                    self.error(err, rest.span(), instr)
                elif elems is not None:
                    instr.is_json = True
                    args = elems
                else:
                    args = [(r, 0, len(r))]
        elif kw in ("add", "copy", "volume"):
            elems, err = _parse_json(r)
            if err:
                self.error(err, rest.span(), instr)
            elif elems is not None:
                instr.is_json = True
                args = elems
            else:
                args = _ws_split(r)
        elif kw in ("from", "expose"):
            args = _ws_split(r)
        elif kw in ("maintainer", "stopsignal", "user", "workdir"):
            if r:
                args = [(r, 0, len(r))]
        elif kw in ("env", "label"):
            args = self.parse_name_val(instr, rest, kw.upper())
        elif kw == "arg":
            args = _parse_words(r, self.d.escape)
        elif kw == "healthcheck":
            j = 0
            while j < len(r) and not _is_space(r[j]):
                j += 1
            k = j
            while k < len(r) and _is_space(r[k]):
                k += 1
            if j > 0:
                args = [(r[:j], 0, j)]
                cmd = r[k:]
                if cmd:
                    elems, err = _parse_json(cmd)
                    if err:
                        self.error(err, rest.span(k), instr)
                    elif elems is not None:
                        instr.is_json = True
                        args += [(v, s + k, e + k) for v, s, e in elems]
                    else:
                        args.append((cmd, k, len(r)))
        elif kw == "onbuild":
            if r:
                sub = self.new_instruction(rest, instr.start_line, instr.end_line, instr.span.end, [])
                instr.sub = sub
                args = [(a.value, 0, 0) for a in sub.args]
                instr.args = list(sub.args)
                instr.is_json = sub.is_json
                return
        else:
            args = [("", 0, 0)]  # BuildKit ignores the arguments of unknown instructions
        instr.args = [Arg(v, rest.span(s, e)) for v, s, e in args]

    def parse_name_val(self, instr: Instruction, rest: Text, key: str) -> list[tuple[str, int, int]]:
        r = rest.value
        words = _parse_words(r, self.d.escape)
        if not words:
            return []
        if "=" not in words[0][0]:
            parts = re.compile(r"[\t\v\f\r ]+").split(r, maxsplit=1)
            if len(parts) < 2:
                self.error(f"{key} must have two arguments", rest.span(), instr)
                return []
            m = re.compile(r"[\t\v\f\r ]+").search(r)
            assert m is not None
            return [(parts[0], 0, m.start()), (parts[1], m.end(), len(r))]
        out = []
        for w, s, e in words:
            if "=" not in w:
                self.error(f'Syntax error - can\'t find = in "{w}". Must be of the form: name=value',
                           rest.span(s, e), instr)
                return []
            k, _, v = w.partition("=")
            out.append((k, s, s + len(k)))
            out.append((v, s + len(k) + 1, e))
        return out


def parse(source: SourceFile) -> Dockerfile:
    """Parse ``source`` into a :class:`~.nodes.Dockerfile`.

    Never raises on bad input: BuildKit parse errors and instruction errors are collected in
    ``Dockerfile.errors`` (each becomes an MLD001 finding) and as much of the file as possible
    is still returned.
    """
    p = _Parser(source)
    df = p.run()
    find_swallowed_lines(df)
    find_trailing_comments(df, p.parse_args)
    build_stages(df)
    check_instructions(df)
    return df
