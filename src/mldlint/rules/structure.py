"""Rules: structure (MLD104-MLD108, MLD110-MLD114, MLD116, MLD117).

Parity with hadolint and BuildKit's build checks on how a Dockerfile is put together: blank
lines in continuations, exec forms written with single quotes, repeated CMD/ENTRYPOINT/
HEALTHCHECK, stage names and references, deprecated or misplaced instructions, the legacy
``KEY value`` form, relative paths, EXPOSE syntax and COPY destinations.
"""

from __future__ import annotations

import json
import re
from typing import Iterator

from ..fixer import Edit, Fix
from ..model.expand import expand
from ..parser.checks import KNOWN, single_quoted_json
from ..parser.nodes import Span
from .base import Violation, rule


def _short(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _live(df):
    """Instructions BuildKit really reads as instructions (not MLD101 string content)."""
    return (ins for ins in df.instructions if not ins.swallowed)


def _steps(model):
    """``(stage model, step)`` for every instruction after a FROM, in file order."""
    for sm in model.stages:
        for step in sm.steps:
            yield sm, step


def _unquote(word: str, escape: str = "\\") -> str:
    """A shell-form word with its quotes removed, as BuildKit reads COPY/ADD/WORKDIR words
    (``"${APP}/etc/"`` -> ``${APP}/etc/``); escapes keep the escaped character."""
    out = []
    quote = ""
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == escape and quote != "'" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _verbatim(src, span: Span, value: str) -> bool:
    """Whether the source at ``span`` reads exactly ``value`` (no quotes, escapes or line
    continuations in between), so that an edit of that span is an edit of the value."""
    return src.text[span.start:span.end] == value


# ----------------------------------------------------------------------------- MLD104
@rule("MLD104")
def empty_continuation_line(df, model, ctx) -> Iterator[Violation]:
    """Blank lines inside a ``\\``-continued instruction."""
    blanks = sorted(set(df.empty_continuation_lines))
    if not blanks:
        return
    src = df.source
    for ins in _live(df):
        mine = [n for n in blanks if ins.start_line < n <= ins.end_line]
        if not mine:
            continue
        where = (f"line {mine[0]} is blank" if len(mine) == 1
                 else f"lines {', '.join(map(str, mine))} are blank")
        msg = (f"{where} inside the continued {ins.keyword} that starts on line "
               f"{ins.start_line}: BuildKit skips empty continuation lines today, but they are "
               f"deprecated and will become an error; remove them (or end the instruction "
               f"before the blank line)")
        edits = tuple(Edit(src.line_start(n), src.line_end(n, keep_newline=True), "")
                      for n in mine)
        first = mine[0]
        yield Violation(Span(src.line_start(first), src.line_end(first)), msg,
                        fix=Fix(edits=edits, applicability="safe",
                                title="Remove the blank continuation lines"))


# ----------------------------------------------------------------------------- MLD105
_JSON_FORM_EFFECT = {
    "RUN": "Docker runs it through `/bin/sh -c` as a literal string, which fails with `not "
           "found`",
    "CMD": "Docker runs it through `/bin/sh -c` as a literal string: the container exits with "
           "`not found` instead of starting the program",
    "ENTRYPOINT": "Docker runs it through `/bin/sh -c` as a literal string: the container "
                  "exits with `not found` instead of starting the program",
    "HEALTHCHECK": "Docker runs it through `/bin/sh -c` as a literal string, so the probe "
                   "always fails and the container is reported unhealthy",
    "SHELL": "BuildKit rejects the file (SHELL requires the arguments to be in JSON form)",
    "COPY": "BuildKit reads the words (brackets and commas included) as file names",
    "ADD": "BuildKit reads the words (brackets and commas included) as file names",
    "VOLUME": "the volume paths include the brackets and commas",
}


def _json_form_text(ins):
    """The text that should be a JSON array (a :class:`~mldlint.parser.nodes.Text`), or
    ``None`` when the instruction has no exec form."""
    kw = ins.keyword
    if ins.is_json:
        return None
    if kw in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"):
        return ins.effective_rest
    if kw == "HEALTHCHECK" and len(ins.args) >= 2 and ins.args[0].value.upper() == "CMD":
        rest = ins.rest
        start = len(rest.value) - len(ins.args[1].value)
        return rest.slice(start)
    return None


@rule("MLD105")
def json_form_single_quotes(df, model, ctx) -> Iterator[Violation]:
    """An exec form (JSON array) written with single quotes: not JSON, so shell form."""
    src = df.source
    for ins in _live(df):
        target = ins.sub if ins.keyword == "ONBUILD" and ins.sub is not None else ins
        text = _json_form_text(target)
        if text is None:
            continue
        singles = single_quoted_json(text.value)
        if singles is None:
            continue
        kw = target.keyword
        shown = _short(text.value)
        msg = (f"`{shown}` is not a JSON array (JSON strings need double quotes), so {kw} "
               f"is in shell form: {_JSON_FORM_EFFECT[kw]}; write it with double quotes")
        yield Violation(text.span(), msg, fix=_double_quote_fix(src, text, singles))


def _double_quote_fix(src, text, singles) -> Fix | None:
    """Replace the single quotes of each string with double quotes, when the strings hold no
    ``"`` or backslash (whose meaning would change) and the result is a JSON array of strings
    with the same values."""
    value = text.value
    chars = list(value)
    for a, b in singles:
        body = value[a + 1:b]
        if '"' in body or "\\" in body:
            return None
        chars[a] = chars[b] = '"'
    new = "".join(chars)
    try:
        parsed = json.loads(new)
    except ValueError:
        return None
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        return None
    edits = []
    for a, b in singles:
        for k in (a, b):
            s = text.map.to_source(k)
            if src.text[s:s + 1] != "'":
                return None
            edits.append(Edit(s, s + 1, '"'))
    return Fix(edits=tuple(edits), applicability="safe", title="Use double quotes (JSON)")


# ----------------------------------------------------------------------------- MLD106
_SINGLETON_EFFECT = {
    "CMD": "the container's default command",
    "ENTRYPOINT": "the container's entrypoint",
    "HEALTHCHECK": "the health check",
}


@rule("MLD106")
def duplicate_singleton_instruction(df, model, ctx) -> Iterator[Violation]:
    """More than one CMD, ENTRYPOINT or HEALTHCHECK in one stage."""
    for st in df.stages:
        seen: dict[str, list] = {}
        for ins in st.instructions:
            if ins.swallowed or ins.keyword not in _SINGLETON_EFFECT:
                continue
            seen.setdefault(ins.keyword, []).append(ins)
        for kw, found in seen.items():
            if len(found) < 2:
                continue
            last = found[-1]
            for ins in found[:-1]:
                msg = (f"this {kw} has no effect: the {kw} on line {last.start_line} in the "
                       f"same stage replaces it (only the last {kw} of a stage sets "
                       f"{_SINGLETON_EFFECT[kw]}); remove one of them")
                yield Violation(ins.keyword_span, msg)


# ----------------------------------------------------------------------------- MLD107
_RESERVED_STAGE_NAMES = ("scratch", "context")


def _stage_refs(df, stage, name: str):
    """Source spans of the references to stage ``name`` after its FROM (a later FROM's base,
    ``COPY --from=``, ``RUN --mount=...,from=``), compared case-insensitively; ``None`` when a
    reference cannot be edited in place (quoted, escaped or built from a variable)."""
    src = df.source
    low = name.lower()
    spans = []
    after = False
    for ins in _live(df):
        if ins is stage.from_:
            after = True
            continue
        if not after:
            continue
        if ins.keyword == "FROM" and ins.args:
            base = ins.args[0]
            if base.value.lower() == low:
                if not _verbatim(src, base.span, base.value):
                    return None
                spans.append(base.span)
        target = ins.sub if ins.keyword == "ONBUILD" and ins.sub is not None else ins
        for f in target.flags:
            fname = f.name.lower()
            if fname == "from" and (f.value or "").lower() == low:
                raw = src.text[f.span.start:f.span.end]
                if not raw.endswith("=" + f.value):
                    return None
                spans.append(Span(f.span.end - len(f.value), f.span.end))
            elif fname == "mount" and f.value:
                raw = src.text[f.span.start:f.span.end]
                for m in re.finditer(r"(?:(?<=[=,])|^)from=([^,\s\"']+)", raw):
                    if m.group(1).lower() == low:
                        spans.append(Span(f.span.start + m.start(1), f.span.start + m.end(1)))
    return spans


@rule("MLD107")
def stage_name(df, model, ctx) -> Iterator[Violation]:
    """Duplicate, reserved or non-lowercase stage names; ``AS`` cased unlike ``FROM``."""
    src = df.source
    first_of: dict[str, int] = {}
    for st in df.stages:
        ins = st.from_
        if ins is None or st.name is None or len(ins.args) < 3:
            continue
        as_arg, name_arg = ins.args[1], ins.args[2]
        name = st.name
        low = name.lower()
        kw = ins.keyword_text
        as_text = as_arg.value
        if (kw.isupper() and not as_text.isupper()) or (kw.islower() and not as_text.islower()):
            want = "AS" if kw.isupper() else "as"
            fix = None
            if _verbatim(src, as_arg.span, as_text):
                fix = Fix(edits=(Edit(as_arg.span.start, as_arg.span.end, want),),
                          applicability="safe", title=f"Write `{want}`")
            yield Violation(as_arg.span,
                            f"`{kw} ... {as_text} {name}`: the `{as_text}` keyword is cased "
                            f"differently from `{kw}`; write `{want}` to match", fix=fix)
        if low in first_of:
            yield Violation(name_arg.span,
                            f"stage name `{name}` is already used by the stage on line "
                            f"{first_of[low]} (stage names are case-insensitive): `--from="
                            f"{low}`, `FROM {low}` and `--target {low}` can then reach only one "
                            f"of the two stages; rename one of them")
            continue
        first_of[low] = ins.start_line
        if low in _RESERVED_STAGE_NAMES:
            yield Violation(name_arg.span,
                            f"`{name}` is a reserved name (`FROM {low}` and `--from={low}` "
                            f"mean {'the empty image' if low == 'scratch' else 'the build context'}"
                            f", not this stage); choose another stage name")
            continue
        if name != low:
            fix = None
            dup = sum(1 for s in df.stages if s.name and s.name.lower() == low) > 1
            refs = None if dup else _stage_refs(df, st, name)
            if refs is not None and _verbatim(src, name_arg.span, name):
                edits = [Edit(name_arg.span.start, name_arg.span.end, low)]
                edits += [Edit(s.start, s.end, low) for s in refs
                          if src.text[s.start:s.end] != low]
                fix = Fix(edits=tuple(edits), applicability="safe",
                          title=f"Rename the stage to `{low}` (and its references)")
            yield Violation(name_arg.span,
                            f"stage name `{name}` is not lower case: BuildKit lower-cases stage "
                            f"names, so `{name}` and `{low}` are the same stage and the mixed "
                            f"spelling misleads; write `{low}` here and in its references",
                            fix=fix)


# ----------------------------------------------------------------------------- MLD108
_PLAIN_WORD_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")


@rule("MLD108")
def copy_from_unknown_stage(df, model, ctx) -> Iterator[Violation]:
    """``COPY --from=X`` naming no earlier stage (a later one, its own, an index out of
    range)."""
    for pos, sm in enumerate(model.stages):
        for step in sm.steps:
            ins = step.instruction
            if ins.swallowed or ins.keyword != "COPY":
                continue
            f = ins.flag("from")
            if f is None or not f.value:
                continue
            ref, complete = expand(f.value, step.env)
            if not complete or not ref:
                continue
            if model.stage_named(ref, before=pos) is not None:
                continue
            low = ref.lower()
            own = (sm.name is not None and sm.name.lower() == low) or \
                (ref.isdecimal() and int(ref) == sm.index)
            if own:
                yield Violation(f.span,
                                f"`--from={ref}` names the stage this COPY is in: a stage "
                                f"cannot copy from itself (BuildKit reports a circular "
                                f"dependency); copy from an earlier stage or use a plain COPY")
                continue
            later = next((s for s in model.stages[pos + 1:]
                          if (s.name and s.name.lower() == low)
                          or (ref.isdecimal() and s.index == int(ref))), None)
            if later is not None:
                yield Violation(f.span,
                                f"`--from={ref}` names a stage defined later (line "
                                f"{later.stage.from_.start_line}): the classic builder and "
                                f"hadolint read it as an image called `{ref}` to pull, and it "
                                f"makes the build order hard to follow; move that stage above "
                                f"this one")
                continue
            if ref.isdecimal():
                count = len([s for s in model.stages[:pos] if s.index >= 0])
                have = (f"the stages before it are 0-{count - 1}" if count > 1
                        else "the only stage before it is 0" if count == 1
                        else "there is no stage before it")
                yield Violation(f.span,
                                f"`--from={ref}` names stage index {ref}, but {have}: the "
                                f"build fails (invalid stage index)")


# ----------------------------------------------------------------------------- MLD110
@rule("MLD110")
def maintainer_deprecated(df, model, ctx) -> Iterator[Violation]:
    """MAINTAINER (deprecated since Docker 1.13)."""
    src = df.source
    for ins in _live(df):
        if ins.keyword != "MAINTAINER":
            continue
        rest = ins.effective_rest
        who = rest.value
        fix = None
        region = Span(ins.keyword_span.start, rest.span().end) if who else ins.keyword_span
        if who and ins.trailing_comment is None and \
                src.position(region.start)[0] == src.position(region.end)[0] and \
                src.text[rest.span().start:rest.span().end] == who:
            esc = df.escape
            escaped = who.replace(esc, esc + esc).replace('"', esc + '"').replace("$", esc + "$")
            kw = "LABEL" if ins.keyword_text.isupper() or not ins.keyword_text.islower() \
                else "label"
            text = f'{kw} org.opencontainers.image.authors="{escaped}"'
            fix = Fix(edits=(Edit(region.start, region.end, text),), applicability="safe",
                      title="Use LABEL org.opencontainers.image.authors")
        shown = f" {_short(who, 50)}" if who else ""
        yield Violation(ins.keyword_span,
                        f"MAINTAINER{shown} is deprecated: use "
                        f"`LABEL org.opencontainers.image.authors=\"...\"`, which tools and "
                        f"registries read (MAINTAINER only fills a legacy image field)", fix=fix)


# ----------------------------------------------------------------------------- MLD111
@rule("MLD111")
def instruction_casing(df, model, ctx) -> Iterator[Violation]:
    """Instruction words that are not upper case: each one when the file mixes cases, one
    finding (fixing them all) when no instruction is upper case."""
    words = []
    for ins in _live(df):
        words.append(ins)
        if ins.keyword == "ONBUILD" and ins.sub is not None:
            words.append(ins.sub)
    words = [w for w in words if w.keyword in KNOWN]  # unknown words are MLD001's
    src = df.source
    lower = [w for w in words if w.keyword_text and not w.keyword_text.isupper()]
    if not lower:
        return

    def edit(w):
        if src.text[w.keyword_span.start:w.keyword_span.end] != w.keyword_text:
            return None
        return Edit(w.keyword_span.start, w.keyword_span.end, w.keyword_text.upper())

    if len(lower) == len(words):
        edits = [edit(w) for w in words]
        fix = None
        if all(edits):
            fix = Fix(edits=tuple(edits), applicability="safe",
                      title="Write every instruction in upper case")
        first = words[0]
        yield Violation(first.keyword_span,
                        f"no instruction in this file is upper case (`{first.keyword_text}` "
                        f"here, {len(words)} in all): the convention is upper case "
                        f"(`{first.keyword_text.upper()}`), which keeps instructions apart "
                        f"from their arguments", fix=fix)
        return
    upper = len(words) - len(lower)
    for w in lower:
        text = w.keyword_text
        want = text.upper()
        e = edit(w)
        fix = Fix(edits=(e,), applicability="safe", title=f"Write `{want}`") if e else None
        yield Violation(w.keyword_span,
                        f"instruction `{text}` is not upper case while {upper} of the "
                        f"{len(words)} instructions in this file are: write `{want}`",
                        fix=fix)


# ----------------------------------------------------------------------------- MLD112
_PLAIN_VALUE_RE = re.compile(r"^[^\s'\"\\`]*$")


@rule("MLD112")
def legacy_key_value(df, model, ctx) -> Iterator[Violation]:
    """``ENV KEY value`` / ``LABEL key value`` (the legacy space-separated form)."""
    src = df.source
    for ins in _live(df):
        target = ins.sub if ins.keyword == "ONBUILD" and ins.sub is not None else ins
        if target.keyword not in ("ENV", "LABEL") or len(target.args) != 2:
            continue
        rest = target.effective_rest.value
        first = rest.split(None, 1)[0] if rest.strip() else ""
        if not first or "=" in first:
            continue
        key, val = target.args
        msg = (f"`{target.keyword} {key.value} {_short(val.value, 40)}` uses the legacy "
               f"space-separated form (deprecated, and one instruction can set only one "
               f"{'variable' if target.keyword == 'ENV' else 'label'} that way): write "
               f"`{target.keyword} {key.value}=...`")
        # with an MLD102 trailing comment, `KEY=value # note` would not parse: MLD102's fix
        # (moving the comment) comes first
        fix = _key_value_fix(src, key, val) if target.trailing_comment is None else None
        yield Violation(key.span, msg, fix=fix)


def _key_value_fix(src, key, val) -> Fix | None:
    """``KEY value`` -> ``KEY=value`` (quoted with ``"`` when the value has blanks), when both
    sit verbatim on one line and the rewrite keeps the value."""
    if not _verbatim(src, key.span, key.value) or not _verbatim(src, val.span, val.value):
        return None
    if "\n" in src.text[key.span.start:val.span.end]:
        return None
    v = val.value
    if _PLAIN_VALUE_RE.match(v):
        new = v  # one word without quotes: the same word after `=`
    elif re.match(r"^[^'\"\\`]*$", v):
        new = '"' + v + '"'  # blanks only: double quotes keep them and still expand $VARs
    else:
        return None  # quotes or escapes with blanks: the quoting would need a rewrite
    return Fix(edits=(Edit(key.span.end, val.span.end, "=" + new),), applicability="safe",
               title=f"Write `{key.value}={_short(new, 30)}`")


# ----------------------------------------------------------------------------- MLD113
#: base image families the knowledge base lists whose images set no WORKDIR (for the other
#: families an unset ``workdir`` fact means "not recorded", not "none")
_NO_WORKDIR_FAMILIES = frozenset({"python", "node", "debian", "ubuntu", "alpine", "scratch",
                                  "cuda", "distroless"})
_WIN_ABS_RE = re.compile(r"^(?:[A-Za-z]:(?:[\\/]|$)|[\\/])")


def _is_windows_stage(sm, df) -> bool:
    """Whether the stage builds a Windows image (Windows base repository or `` ` `` escape)."""
    if df.escape == "`":
        return True
    root = sm.root_base
    return root is not None and any(w in root.repository for w in
                                    ("windows", "servercore", "nanoserver"))


def _base_name(root) -> str:
    """The base image as the messages show it (the repository alone when ARGs in the tag have
    no known value)."""
    if root.base is None:
        return "the base image"
    return root.base.name_with_tag if root.base_complete else root.base.repository


@rule("MLD113")
def relative_workdir(df, model, ctx) -> Iterator[Violation]:
    """Relative WORKDIR with no absolute one before it; COPY/ADD to a relative destination
    with no WORKDIR at all."""
    for sm in model.stages:
        if sm.index < 0:
            continue  # a fragment: its base is unknown
        lineage = sm.lineage()
        root = lineage[-1]
        if root.facts is None or (root.facts.workdir is None
                                  and root.facts.family not in _NO_WORKDIR_FAMILIES):
            continue  # the base may set a WORKDIR of its own (jupyter: /home/jovyan, ...)
        windows = _is_windows_stage(sm, df)
        inherited_workdir = any(s.instruction.keyword == "WORKDIR" and not s.instruction.swallowed
                                for st in lineage[1:] for s in st.steps)
        seen_workdir = inherited_workdir
        for step in sm.steps:
            ins = step.instruction
            if ins.swallowed:
                continue
            if ins.keyword == "WORKDIR" and ins.args:
                raw = _unquote(ins.args[0].value, df.escape)
                path, complete = expand(raw, step.env)
                seen_workdir = True
                if not complete or not path or _WIN_ABS_RE.match(path) or step.workdir \
                        or _WIN_ABS_RE.match(ins.args[0].value.strip("\"'")):
                    continue
                base = _base_name(root)
                yield Violation(ins.args[0].span,
                                f"WORKDIR `{raw}` is relative and no absolute WORKDIR comes "
                                f"before it (the base {base} sets none), so it resolves "
                                f"against `/` and changes meaning if the base image starts "
                                f"setting one; use an absolute path such as `/{path}`")
            elif ins.keyword in ("COPY", "ADD") and not windows and not seen_workdir \
                    and not step.workdir and len(ins.args) >= 2:
                dest = ins.args[-1]
                raw = dest.value
                path, complete = expand(raw if ins.is_json else _unquote(raw, df.escape), step.env)
                if not complete or not path or _WIN_ABS_RE.match(path):
                    continue
                if path.startswith("~"):
                    continue
                base = _base_name(root)
                yield Violation(dest.span,
                                f"{ins.keyword} to the relative destination `{raw}` with no "
                                f"WORKDIR set in this stage (and none in {base}): the files "
                                f"land relative to `/`; set `WORKDIR /app` (or another "
                                f"absolute folder) first, or use an absolute destination")


# ----------------------------------------------------------------------------- MLD114
_PROTOCOLS = ("tcp", "udp", "sctp")


def _port_problem(spec: str) -> tuple[str, str | None] | None:
    """What is wrong with an EXPOSE word (after variable expansion), as ``(message part,
    replacement or None)``; ``None`` when it is valid."""
    port, slash, proto = spec.partition("/")
    fixed_proto = proto
    problems = []
    replacement_ok = True
    if slash:
        if proto.lower() not in _PROTOCOLS:
            return (f"`{proto}` is not a protocol Docker knows (tcp, udp, sctp)", None)
        if proto != proto.lower():
            problems.append(f"the protocol `{proto}` is not lower case")
            fixed_proto = proto.lower()
    if ":" in port:
        if port.startswith("["):
            replacement_ok = False
        container = port.rsplit(":", 1)[1]
        what = "an IP address" if port.count(":") >= 2 or "." in port.split(":")[0] \
            else "a host port mapping"
        problems.append(f"`{port}` includes {what}: EXPOSE only documents the container's "
                        f"port (publish with `docker run -p`), Docker ignores the rest")
        port = container
    lo, dash, hi = port.partition("-")
    for p in ((lo, hi) if dash else (lo,)):
        if not p.isdecimal():
            return (f"`{p}` is not a port number", None)
        if not 1 <= int(p) <= 65535:
            return (f"port {p} is out of range (1-65535)", None)
    if dash and int(lo) > int(hi):
        return (f"the port range `{port}` ends before it starts", None)
    if not problems:
        return None
    new = port + (slash + fixed_proto if slash else "")
    return ("; ".join(problems), new if replacement_ok else None)


@rule("MLD114")
def invalid_expose(df, model, ctx) -> Iterator[Violation]:
    """EXPOSE with an invalid port, a host mapping or IP, or an upper-case protocol."""
    src = df.source
    for sm, step in _steps(model):
        ins = step.instruction
        if ins.swallowed or ins.keyword != "EXPOSE":
            continue
        for arg in ins.args:
            raw = arg.value
            spec, complete = expand(raw, step.env)
            if not complete or not spec or any(c.isspace() for c in spec):
                continue
            problem = _port_problem(spec)
            if problem is None:
                continue
            msg, new = problem
            fix = None
            if new is not None and "$" not in raw and _verbatim(src, arg.span, raw):
                fix = Fix(edits=(Edit(arg.span.start, arg.span.end, new),),
                          applicability="safe", title=f"Write `EXPOSE {new}`")
            yield Violation(arg.span, f"EXPOSE {raw}: {msg}", fix=fix)


# ----------------------------------------------------------------------------- MLD116
def _is_dir_dest(path: str) -> bool:
    """Whether a COPY destination names a folder by its spelling."""
    return (path.endswith(("/", "\\")) or path in (".", "..")
            or path.endswith(("/.", "/..")))


@rule("MLD116")
def copy_multi_source_dest(df, model, ctx) -> Iterator[Violation]:
    """COPY/ADD with several sources and a destination that does not end in ``/``."""
    src = df.source
    for sm, step in _steps(model):
        ins = step.instruction
        if ins.swallowed or ins.keyword not in ("COPY", "ADD"):
            continue
        args = ins.args
        if len(args) < 3:
            continue
        dest = args[-1]
        word = dest.value if ins.is_json else _unquote(dest.value, df.escape)
        path, complete = expand(word, step.env)
        if not complete or not path or _is_dir_dest(path) or _is_dir_dest(word):
            continue
        sources = [a.value for a in args[:-1]]
        shown = ", ".join(f"`{_short(s, 30)}`" for s in sources[:3])
        if len(sources) > 3:
            shown += f" and {len(sources) - 3} more"
        msg = (f"{ins.keyword} of {len(sources)} sources ({shown}) to `{dest.value}`, which "
               f"does not end in `/`: the classic builder fails the build, and BuildKit copies "
               f"each source to that same path, so unless it already exists as a folder each "
               f"file replaces the one before; write `{dest.value}/`")
        fix = None
        text = src.text[dest.span.start:dest.span.end]
        if ins.is_json and text == json.dumps(dest.value):
            at = dest.span.end - 1
            fix = Fix(edits=(Edit(at, at, "/"),), applicability="safe", title="Append `/`")
        elif not ins.is_json and text == dest.value and word == dest.value:
            fix = Fix(edits=(Edit(dest.span.end, dest.span.end, "/"),), applicability="safe",
                      title="Append `/`")
        yield Violation(dest.span, msg, fix=fix)


# ----------------------------------------------------------------------------- MLD117
@rule("MLD117")
def onbuild_misuse(df, model, ctx) -> Iterator[Violation]:
    """ONBUILD whose trigger is ONBUILD, FROM or MAINTAINER."""
    for ins in _live(df):
        if ins.keyword != "ONBUILD" or ins.sub is None:
            continue
        sub = ins.sub
        if sub.keyword not in ("ONBUILD", "FROM", "MAINTAINER"):
            continue
        why = {
            "ONBUILD": "triggers cannot be chained",
            "FROM": "a trigger runs inside the child's stage and cannot start a new one",
            "MAINTAINER": "it is deprecated metadata, use LABEL in the image itself",
        }[sub.keyword]
        yield Violation(sub.keyword_span,
                        f"`ONBUILD {sub.keyword_text}` is not allowed ({why}): BuildKit "
                        f"rejects the file with \"{sub.keyword} isn't allowed as an ONBUILD "
                        f"trigger\"")
