"""Passes over the raw instruction list that run right after parsing:

1. :func:`find_swallowed_lines`: a shell-form RUN whose quoted string is still open at the end of
   its line makes BuildKit read the following lines as instructions (``from transformers import
   x`` becomes a FROM). Those instructions are marked ``swallowed`` and the RUN is recorded in
   :data:`Dockerfile.unterminated_strings` (MLD101 reports it).
2. :func:`find_trailing_comments`: ``  # comment`` after the arguments of an instruction that no
   shell runs is not a comment (MLD102); the instruction is re-read without it.
3. :func:`build_stages`: stages from FROM instructions (swallowed lines excluded).
4. :func:`check_instructions`: BuildKit's instruction checks (unknown instruction, argument
   counts, flags an instruction does not take), as MLD001 errors, except where MLD101/MLD102/
   MLD103/MLD105/MLD117 explain the problem (a SHELL written as a JSON array with single
   quotes, see :func:`single_quoted_json`; an ONBUILD trigger that is ONBUILD, FROM or
   MAINTAINER).
"""

from __future__ import annotations

from .nodes import Dockerfile, Instruction, ParseError, Span, Stage

#: instructions whose arguments no shell reads (a `#` there is an argument, not a comment)
NON_SHELL = frozenset({"FROM", "COPY", "ADD", "WORKDIR", "ENV", "ARG", "LABEL", "USER", "EXPOSE",
                       "VOLUME", "STOPSIGNAL", "MAINTAINER", "SHELL"})
KNOWN = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                   "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL",
                   "USER", "VOLUME", "WORKDIR"})
ALLOWED_FLAGS: dict[str, frozenset[str]] = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"mount", "network", "security", "device"}),
    "COPY": frozenset({"from", "chown", "chmod", "link", "parents", "exclude"}),
    "ADD": frozenset({"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "parents",
                      "unpack"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval",
                              "retries"}),
}


def shell_quote_state(text: str, state: str = "") -> tuple[str, int | None]:
    """Scan ``text`` as shell words starting in quote ``state`` ("", "'" or '"'); return the
    state at the end and the index in ``text`` of the quote that opened it (``None`` when the
    text ends outside quotes, or inside a quote opened before ``text``). A ``#`` starting a
    word (outside quotes) comments out the rest."""
    i, n = 0, len(text)
    prev_blank = True
    opened_at: int | None = None
    while i < n:
        ch = text[i]
        if state == "'":
            if ch == "'":
                state = ""
            i += 1
            prev_blank = False
            continue
        if state == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                state = ""
            i += 1
            prev_blank = False
            continue
        if ch == "\\":
            i += 2
            prev_blank = False
            continue
        if ch in "'\"":
            state, opened_at = ch, i
        elif ch == "#" and prev_blank:
            break
        prev_blank = ch in " \t;&|()"
        i += 1
    return state, (opened_at if state else None)


def find_swallowed_lines(df: Dockerfile) -> None:
    """Mark instructions that are the continuation of a string a RUN left open (MLD101)."""
    src = df.source
    instrs = df.instructions
    for k, ins in enumerate(instrs):
        if ins.swallowed or ins.keyword != "RUN" or ins.is_json or ins.heredocs:
            continue
        state, _ = shell_quote_state(ins.rest.value)
        if not state:
            continue
        # follow the physical lines after the RUN until the string closes
        close_line = None
        line = ins.end_line + 1
        last = src.line_count
        while line <= last:
            state, _ = shell_quote_state(src.line_text(line), state)
            if not state:
                close_line = line
                break
            line += 1
        if close_line is None:
            continue
        swallowed = [j for j in instrs[k + 1:] if j.start_line <= close_line]
        if not swallowed:
            continue
        for j in swallowed:
            j.swallowed = True
        df.unterminated_strings.append((ins, close_line))


def _trailing_comment_at(text: str, json_form: bool) -> int | None:
    """Index of a `#` preceded by whitespace, outside quotes and ``${...}``, or None."""
    i, n = 0, len(text)
    quote = ""
    brace = 0
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch == "\\":
            i += 2
            continue
        if ch == "$" and i + 1 < n and text[i + 1] == "{":
            brace += 1
            i += 2
            continue
        if ch == "}" and brace:
            brace -= 1
        elif ch in "'\"" and (json_form or True):
            quote = ch
        elif ch == "#" and not brace and i > 0 and text[i - 1] in " \t":
            return i
        i += 1
    return None


def _legacy_value_start(rest: str) -> int | None:
    """In the legacy ``KEY value`` form of ENV/LABEL (first word without ``=``), the index
    where the value starts; None for the ``KEY=value`` form."""
    parts = rest.split(None, 1)
    if not parts or "=" in parts[0] or len(parts) < 2:
        return None
    return rest.index(parts[1], len(parts[0]))


def find_trailing_comments(df: Dockerfile, reparse) -> None:
    """Set ``trailing_comment`` on instructions with a ``  #`` inside their non-shell arguments
    and re-read their arguments without it (``reparse(instr, text)``)."""
    for ins in df.instructions:
        if ins.swallowed or ins.heredocs:
            continue
        kw = ins.keyword
        if kw in NON_SHELL or (kw in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK") and ins.is_json):
            pos = _trailing_comment_at(ins.rest.value, ins.is_json)
            if pos is None:
                continue
            if kw in ("ENV", "LABEL") and _legacy_value_start(ins.rest.value) == pos:
                continue  # `ENV CHANNEL #general`: the value itself starts with `#`
            ins.trailing_comment = pos
            ins.buildkit_args = ins.args
            # errors of the instruction as BuildKit reads it are explained by MLD102
            df.errors[:] = [e for e in df.errors if e.instruction is not ins]
            saved_errors = len(df.errors)
            reparse(ins, ins.effective_rest)
            del df.errors[saved_errors:]


def build_stages(df: Dockerfile) -> None:
    """Fill ``df.preamble`` and ``df.stages`` (swallowed instructions excluded)."""
    current: Stage | None = None
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for ins in df.instructions:
        if ins.swallowed:
            continue
        if ins.keyword == "FROM":
            vals = ins.values
            name = vals[2] if len(vals) >= 3 and vals[1].lower() == "as" else None
            base = vals[0] if vals else None
            current = Stage(index=len([s for s in stages if s.index >= 0]), name=name, from_=ins,
                            base=base)
            stages.append(current)
        elif current is None:
            preamble.append(ins)
        else:
            current.instructions.append(ins)
    df.preamble = preamble
    if any(i.keyword != "ARG" for i in preamble):
        implicit = Stage(index=-1, name=None, from_=None, base=None, instructions=list(preamble))
        stages.insert(0, implicit)
    df.stages = stages


def single_quoted_json(text: str) -> list[tuple[int, int]] | None:
    """For text shaped like a JSON array of strings in which at least one string is written
    with single quotes (``['python', 'app.py']``, not JSON, so BuildKit takes the shell form):
    the ``(open, close)`` indices of each single-quoted string's quotes. ``None`` for anything
    else (valid JSON included)."""
    n = len(text)
    i = 0

    def skip(k: int) -> int:
        while k < n and text[k] in " \t":
            k += 1
        return k

    i = skip(i)
    if i >= n or text[i] != "[":
        return None
    i = skip(i + 1)
    singles: list[tuple[int, int]] = []
    while True:
        if i >= n or text[i] not in "'\"":
            return None
        quote = text[i]
        j = i + 1
        while j < n and text[j] != quote:
            j += 2 if text[j] == "\\" else 1
        if j >= n:
            return None
        if quote == "'":
            singles.append((i, j))
        i = skip(j + 1)
        if i < n and text[i] == ",":
            i = skip(i + 1)
            continue
        if i < n and text[i] == "]":
            break
        return None
    if skip(i + 1) != n:
        return None
    return singles or None


def _err(df: Dockerfile, ins: Instruction, msg: str, span: Span | None = None) -> None:
    df.errors.append(ParseError(msg, span or ins.keyword_span, ins))


def check_instructions(df: Dockerfile) -> None:
    """BuildKit's instruction checks as MLD001 errors (see module docs)."""
    explained = {id(i) for i in df.instructions if i.swallowed or i.trailing_comment is not None}
    for ins in df.instructions:
        if id(ins) in explained:
            continue
        _check_one(df, ins, ins.keyword)
        if ins.keyword == "ONBUILD" and ins.sub is not None:
            sub = ins.sub
            # an ONBUILD, FROM or MAINTAINER trigger is BuildKit's error "... isn't allowed as
            # an ONBUILD trigger": MLD117 (onbuild-misuse) reports it
            if sub.keyword not in ("ONBUILD", "FROM", "MAINTAINER"):
                _check_one(df, sub, sub.keyword)
        elif ins.keyword == "ONBUILD":
            _err(df, ins, "ONBUILD requires at least one argument")


def _check_one(df: Dockerfile, ins: Instruction, kw: str) -> None:
    if kw not in KNOWN:
        _err(df, ins, f"unknown instruction: {ins.keyword_text}")
        return
    allowed = ALLOWED_FLAGS.get(kw, frozenset())
    for f in ins.flags:
        if f.name.lower() not in allowed:
            _err(df, ins, f"unknown flag: {f.name}", f.span)
    n = len(ins.args)
    heredoc_count = len(ins.heredocs)
    if kw == "FROM":
        if n not in (1, 3) or (n == 3 and ins.args[1].value.lower() != "as"):
            _err(df, ins, "FROM requires either one or three arguments")
    elif kw in ("RUN", "CMD", "ENTRYPOINT"):
        if n == 0 and not ins.is_json and kw == "RUN":
            _err(df, ins, f"{kw} requires at least one argument")
    elif kw in ("COPY", "ADD"):
        if n < 2 and not (heredoc_count and n >= 1):
            _err(df, ins, f"{kw} requires at least two arguments, but only {n} provided")
    elif kw in ("ENV", "LABEL", "ARG", "EXPOSE", "VOLUME"):
        if n == 0:
            _err(df, ins, f"{kw} requires at least one argument")
    elif kw in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER"):
        if n != 1:
            _err(df, ins, f"{kw} requires exactly one argument")
    elif kw == "SHELL":
        # single quotes instead of JSON's double quotes: MLD105 explains it
        if not ins.is_json and single_quoted_json(ins.rest.value) is None:
            _err(df, ins, "SHELL requires the arguments to be in JSON form")
    elif kw == "HEALTHCHECK":
        if n == 0:
            _err(df, ins, "HEALTHCHECK requires an argument")
        else:
            typ = ins.args[0].value.upper()
            if typ == "NONE":
                if n > 1:
                    _err(df, ins, "HEALTHCHECK NONE takes no arguments")
            elif typ != "CMD":
                _err(df, ins, f"Unknown type \"{ins.args[0].value}\" in HEALTHCHECK "
                              "(try CMD)", ins.args[0].span)
            elif n < 2:
                _err(df, ins, "Missing command after HEALTHCHECK CMD")
