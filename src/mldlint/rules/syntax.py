"""Rules: syntax (MLD101, MLD102, MLD103, MLD109, MLD115).

These rules look at how BuildKit reads the file (instruction boundaries, comments, scopes)
rather than at what the image contains.
"""

from __future__ import annotations

import json
import re
from typing import Iterator

from ..fixer import Edit, Fix
from ..model import BUILTIN_ARGS
from ..model.expand import variables_used
from ..parser.checks import shell_quote_state
from ..parser.nodes import Span
from .base import Violation, rule


def _short(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


# ----------------------------------------------------------------------------- MLD101
def _open_quote_index(text: str) -> int | None:
    """Index in ``text`` (a shell command line) of the quote that is still open at its end."""
    return shell_quote_state(text)[1]


_PY_C_RE = re.compile(r"(?:^|[\s;&|(])python[0-9.]*(?:\s+-[A-Za-z]+)*?\s+(-c)\s*$")


def _heredoc_fix(df, ins, close_line: int) -> Fix | None:
    """The heredoc rewrite of ``RUN python -c "<newline>...<newline>"`` (see the YAML's
    fix notes), or ``None`` when the string is not a plain ``python -c`` script that can move
    into a quoted heredoc unchanged."""
    src = df.source
    rest = ins.rest
    q = _open_quote_index(rest.value)
    if q is None or ins.start_line != ins.end_line:
        return None
    quote = rest.value[q]
    m = _PY_C_RE.search(rest.value[:q])
    if m is None:
        return None
    # the quoted text: rest of the RUN line, the swallowed lines, the closing line up to the quote
    first = rest.value[q + 1:]
    middle = [src.line_text(n) for n in range(ins.end_line + 1, close_line)]
    last_line = src.line_text(close_line)
    close = last_line.find(quote)
    if close < 0 or last_line[close + 1:].strip():
        return None  # words after the closing quote: not a plain script argument
    last = last_line[:close]
    body = ([first] if first.strip() else []) + middle + ([last] if last.strip() else [])
    joined = "\n".join(body)
    if quote == '"' and any(c in joined for c in "\\$`\""):
        return None  # the shell would have changed these characters inside "..."
    name = "EOF"
    while any(line.strip() == name for line in body):
        name = "PY" + name
    nl = src.newline
    c_start = rest.map.to_source(m.start(1))
    text = "- <<'" + name + "'" + nl + nl.join(body) + nl + name
    edits = []
    if df.directive("syntax") is None:
        edits.append(Edit(0, 0, "# syntax=docker/dockerfile:1" + nl))
    edits.append(Edit(c_start, src.line_end(close_line), text))
    return Fix(edits=tuple(edits), applicability="unsafe",
               title="Rewrite the python -c string as a heredoc")


_KNOWN_KEYWORDS = frozenset({"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
                             "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL",
                             "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})


@rule("MLD101")
def multiline_string_without_continuation(df, model, ctx) -> Iterator[Violation]:
    """A RUN whose quoted string the line ends, so the next lines become instructions."""
    for ins, close_line in df.unterminated_strings:
        rest = ins.rest
        q = _open_quote_index(rest.value)
        start = rest.map.to_source(q) if q is not None else ins.keyword_span.start
        span = Span(start, rest.span().end) if q is not None else ins.span
        first, last = ins.end_line + 1, close_line
        lines = (f"line {first} is read as a new instruction" if first == last
                 else f"lines {first}-{last} are read as new instructions")
        swallowed = [j for j in df.instructions
                     if j.swallowed and first <= j.start_line <= last]
        example = next((j for j in swallowed if j.keyword == "FROM"),
                       swallowed[0] if swallowed else None)
        what = ""
        if example is not None:
            text = _short(df.source.line_text(example.start_line).strip(), 50)
            kw = example.keyword
            role = (f"becomes a {kw} instruction" if kw in _KNOWN_KEYWORDS
                    else "is an unknown instruction")
            what = f" (line {example.start_line}, `{text}`, {role})"
        quote = rest.value[q] if q is not None else '"'
        msg = (f"the {quote} opened in this RUN is not closed before the line ends, and a "
               f"Dockerfile instruction ends with its line: {lines}{what} and the build "
               f"fails; keep the string on one line, end each line with `\\`, or use a "
               f"heredoc (`RUN python - <<'EOF'` ... `EOF`)")
        yield Violation(span, msg, fix=_heredoc_fix(df, ins, close_line))


# ----------------------------------------------------------------------------- MLD102
_CONSEQUENCE = {
    "FROM": "BuildKit rejects the FROM, which takes one or three arguments",
    "COPY": "they become more sources and the last word becomes the destination",
    "ADD": "they become more sources and the last word becomes the destination",
    "WORKDIR": "the folder name includes them",
    "USER": "BuildKit rejects the USER, which takes exactly one argument",
    "ENV": "the build fails or the variable gets them as its value",
    "LABEL": "the build fails or the label gets them as its value",
    "ARG": "they become more ARG declarations",
    "EXPOSE": "BuildKit rejects them as ports",
    "VOLUME": "they become more volumes",
}


@rule("MLD102")
def trailing_comment(df, model, ctx) -> Iterator[Violation]:
    """``  # comment`` after the arguments of an instruction no shell reads."""
    src = df.source
    for ins in df.instructions:
        if ins.swallowed or ins.trailing_comment is None:
            continue
        rest = ins.rest
        pos = ins.trailing_comment
        if ins.keyword in ("ENV", "LABEL") and "=" not in rest.value[:pos] \
                and len(rest.value[:pos].split()) == 1:
            continue  # `ENV CHANNEL #general`: the legacy form's value starts with `#`
        comment = rest.value[pos:].rstrip()
        span = rest.span(pos, pos + len(comment))
        if ins.is_json:
            effect = ("the exec form stops being JSON, so Docker would run it as a shell "
                      "command through /bin/sh -c")
        else:
            effect = _CONSEQUENCE.get(ins.keyword, "they change what the instruction means")
        msg = (f"`{_short(comment)}` after the {ins.keyword} arguments is not a comment: `#` "
               f"starts a comment only at the start of a line, so BuildKit reads these words "
               f"as arguments ({effect}); put the comment on its own line above")
        yield Violation(span, msg, fix=_move_comment_fix(src, ins, comment, span))


def _move_comment_fix(src, ins, comment: str, span: Span) -> Fix | None:
    """Move the trailing comment to its own line above the instruction (when it sits on one
    physical line, verbatim)."""
    text = src.text
    if text[span.start:span.end] != comment or "\n" in comment:
        return None
    cut = span.start
    while cut > 0 and text[cut - 1] in " \t":
        cut -= 1
    if cut == span.start:
        return None
    line = src.position(ins.keyword_span.start)[0]
    line_start = src.line_start(line)
    indent = text[line_start:ins.keyword_span.start]
    if indent.strip():
        return None
    tail = span.end
    while tail < len(text) and text[tail] in " \t":
        tail += 1
    return Fix(edits=(Edit(line_start, line_start, indent + comment + src.newline),
                      Edit(cut, tail, "")),
               applicability="safe", title="Move the comment to its own line above")


# ----------------------------------------------------------------------------- MLD103
@rule("MLD103")
def first_instruction(df, model, ctx) -> Iterator[Violation]:
    """The first instruction (after ARGs) is not FROM."""
    if not df.stages or df.stages[0].index != -1:
        return
    for ins in df.stages[0].instructions:
        if ins.swallowed or ins.keyword == "ARG":
            continue
        later = next((s.from_ for s in df.stages if s.from_ is not None), None)
        where = (f"; the first FROM is on line {later.start_line}" if later is not None
                 else "; the file has no FROM at all")
        msg = (f"the first instruction is {ins.keyword}, not FROM: a build stage must start "
               f"with FROM (only ARG may come before it), so BuildKit rejects the file{where}")
        yield Violation(ins.keyword_span, msg)
        return


# ----------------------------------------------------------------------------- MLD109
#: keywords whose arguments BuildKit expands itself (besides RUN, run by a shell)
_EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
                       "WORKDIR", "ARG"})

#: ENV-name prefixes that base images of a family commonly set (the knowledge base does not
#: list every ENV of every image): a global ARG of such a name used in a stage usually reads the
#: base image's ENV, not an empty value.
_FAMILY_ENV = {
    "python": ("PYTHON_", "PIP_", "GPG_KEY", "LANG", "PATH"),
    "node": ("NODE_", "YARN_", "NPM_", "PATH"),
    "cuda": ("CUDA_", "CUDNN_", "NCCL_", "NV_", "NVIDIA_", "LIBRARY_PATH", "LD_LIBRARY_PATH",
             "PATH"),
    "pytorch": ("PYTORCH_", "CUDA_", "CUDNN_", "NV_", "NVIDIA_", "CONDA_", "PATH",
                "LD_LIBRARY_PATH"),
    "ngc": ("PYTORCH_", "TENSORFLOW_", "TF_", "CUDA_", "CUDNN_", "NCCL_", "NV_", "NVIDIA_",
            "TRT_", "TENSORRT_", "TRITON_", "DALI_", "CUBLAS_", "CUFFT_", "CURAND_", "CUSOLVER_",
            "CUSPARSE_", "NPP_", "OPENMPI_", "HPCX_", "UCX_", "MOFED_", "PATH",
            "LD_LIBRARY_PATH", "LIBRARY_PATH", "PYTHONIOENCODING"),
    "tensorflow": ("TF_", "TENSORFLOW_", "CUDA_", "CUDNN_", "NV_", "NVIDIA_", "PATH",
                   "LD_LIBRARY_PATH"),
    "conda": ("CONDA_", "MAMBA_", "PATH", "LANG"),
    "jupyter": ("CONDA_", "NB_", "JUPYTER_", "MAMBA_", "PATH", "LANG", "HOME", "SHELL"),
}
_ALL_FAMILY_ENV = tuple(sorted({p for ps in _FAMILY_ENV.values() for p in ps}))
_ALWAYS_ENV = frozenset({"PATH", "HOME", "HOSTNAME", "TERM", "PWD", "SHELL", "USER"})


def _base_may_set(name: str, sm) -> bool:
    """Whether the stage's base image plausibly sets an ENV called ``name``."""
    if name in _ALWAYS_ENV:
        return True
    root = sm.lineage()[-1]
    facts = root.facts
    if facts is not None and facts.family in ("debian", "ubuntu", "alpine", "distroless",
                                              "scratch"):
        return False
    prefixes = _FAMILY_ENV.get(facts.family, ()) if facts is not None else _ALL_FAMILY_ENV
    if root.base is not None:
        # `<IMAGE>_VERSION`, as official images set (PYTHON_VERSION, GOLANG_VERSION, ...)
        repo = root.base.repository.rsplit("/", 1)[-1].upper().replace("-", "_")
        prefixes = prefixes + (repo + "_",)
    return any(name.startswith(p) if p.endswith("_") else name == p for p in prefixes)


def _expansions(text: str, shell: bool) -> list[tuple[str, int, int]]:
    """``$NAME``/``${NAME}`` references in ``text`` that expand to the variable's plain value:
    not inside single quotes, not in a shell comment (when ``shell``), not escaped, not nested
    in another reference and without a default/alternative (``${A:-x}``, ``${A+x}``)."""
    live = [True] * (len(text) + 1)
    i, n = 0, len(text)
    quote = ""
    prev_blank = True
    while i < n:
        ch = text[i]
        if quote == "'":
            live[i] = False
            if ch == "'":
                quote = ""
            i += 1
            continue
        if ch == "\\":
            live[i] = False
            if i + 1 < n:
                live[i + 1] = False
            i += 2
            prev_blank = False
            continue
        if quote == '"':
            if ch == '"':
                quote = ""
            i += 1
            continue
        if ch == "'":
            if i > 0 and text[i - 1] == "$":
                live[i - 1] = False
            quote = "'"
            live[i] = False
        elif ch == '"':
            quote = '"'
        elif shell and ch == "#" and prev_blank:
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                live[k] = False
            i = j
            prev_blank = True
            continue
        prev_blank = ch in " \t\n;&|()"
        i += 1
    out = []
    refs = variables_used(text)
    for name, s, e in refs:
        if not live[s]:
            continue
        if any(s2 < s and e <= e2 for _, s2, e2 in refs):
            continue  # inside another reference's default word
        ref = text[s:e]
        if ref.startswith("${") and re.match(r"\$\{\w+:?[-+]", ref):
            continue
        out.append((name, s, e))
    return out


_ASSIGN_RE = re.compile(r"(?:^|(?<=[\s;&|(){`]))([A-Za-z_]\w*)(?:\[[^\]]*\])?\+?=")
_FOR_RE = re.compile(r"\b(?:for|select)\s+([A-Za-z_]\w*)\s+in\b")
_READ_RE = re.compile(r"\b(?:read|getopts|mapfile|readarray)\b([^;&|\n)]*)")
_OPAQUE_RE = re.compile(r"(?:^|[\s;&|(){`])(?:source|\.|eval)\s|\bset\s+-[A-Za-z]*a\b|"
                        r"\bset\s+-o\s+allexport\b")


def _shell_locals(script: str) -> set[str] | None:
    """Names the shell itself sets in ``script`` (assignments, ``for X in``, ``read X``,
    ``export X=``), or ``None`` when the script sources files or evals text (any name may be
    set then)."""
    if _OPAQUE_RE.search(script):
        return None
    names = {m.group(1) for m in _ASSIGN_RE.finditer(script)}
    names |= {m.group(1) for m in _FOR_RE.finditer(script)}
    for m in _READ_RE.finditer(script):
        names |= set(re.findall(r"[A-Za-z_]\w*", m.group(1)))
    return names


def _arg_names(ins) -> list[str]:
    return [a.value.split("=", 1)[0] for a in ins.args]


def _refs_of(df, ins) -> list[tuple[str, Span]] | None:
    """The variable references of an instruction that BuildKit or the RUN shell expand, as
    ``(name, source span)``; ``None`` for a RUN whose shell may set any name."""
    out: list[tuple[str, Span]] = []
    text = df.source.text
    for f in ins.flags:
        raw = text[f.span.start:f.span.end]
        out.extend((n, Span(f.span.start + s, f.span.start + e))
                   for n, s, e in _expansions(raw, shell=False))
    if ins.keyword == "RUN":
        if ins.is_json:
            return out
        rest = ins.effective_rest
        scripts = [rest.value] + [h.content for h in ins.heredocs if h.expand]
        local = _shell_locals("\n".join(scripts))
        if local is None:
            return None
        out.extend((n, rest.span(s, e)) for n, s, e in _expansions(rest.value, shell=True))
        for h in ins.heredocs:
            if h.expand:
                b = h.body_span.start
                out.extend((n, Span(b + s, b + e))
                           for n, s, e in _expansions(h.content, shell=True))
        return [(n, sp) for n, sp in out if n not in local]
    if ins.keyword in _EXPANDED or ins.keyword == "FROM":
        rest = ins.effective_rest
        out.extend((n, rest.span(s, e)) for n, s, e in _expansions(rest.value, shell=False))
        if ins.keyword in ("COPY", "ADD"):
            for h in ins.heredocs:
                if h.expand:
                    b = h.body_span.start
                    out.extend((n, Span(b + s, b + e))
                               for n, s, e in _expansions(h.content, shell=False))
    return out


def _stage_label(stage) -> str:
    if stage.name:
        return f"stage `{stage.name}`"
    return f"stage {stage.index}" if stage.index >= 0 else "the implicit stage"


@rule("MLD109")
def arg_out_of_scope(df, model, ctx) -> Iterator[Violation]:
    """``$NAME`` of an ARG declared in the file but not visible where it is used."""
    global_decl: dict[str, int] = {}
    for ins in df.preamble:
        if ins.keyword == "ARG" and not ins.swallowed:
            for name in _arg_names(ins):
                global_decl.setdefault(name, ins.start_line)
    stage_decl: dict[str, list[tuple[object, object]]] = {}
    for st in df.stages:
        if st.index < 0:
            continue
        for ins in st.instructions:
            if ins.keyword == "ARG" and not ins.swallowed:
                for name in _arg_names(ins):
                    stage_decl.setdefault(name, []).append((st, ins))
    if not global_decl and not stage_decl:
        return

    # FROM lines see only the global ARGs (and the predefined ones)
    for st in df.stages:
        ins = st.from_
        if ins is None:
            continue
        for name, span in _refs_of(df, ins) or []:
            if name in global_decl or name in BUILTIN_ARGS or name not in stage_decl:
                continue
            other, decl = stage_decl[name][0]
            yield Violation(span, (
                f"`{df.source.text[span.start:span.end]}` in FROM: ARG {name} is declared inside "
                f"{_stage_label(other)} (line {decl.start_line}), but FROM lines see only the "
                f"ARGs declared before the first FROM, so it expands to an empty string here; "
                f"declare `ARG {name}` with its default above the first FROM"))

    for sm in model.stages:
        if sm.stage.index < 0:
            continue
        for pos, step in enumerate(sm.steps):
            ins = step.instruction
            if ins.swallowed or ins.keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD"):
                continue
            refs = _refs_of(df, ins)
            if not refs:
                continue
            declaring = set(_arg_names(ins)) if ins.keyword == "ARG" else set()
            for name, span in refs:
                if name not in global_decl and name not in stage_decl:
                    continue
                if name in declaring and name not in global_decl:
                    continue  # `ARG X=${X}`: an empty default, overridden by --build-arg
                if name in step.env or name in BUILTIN_ARGS or _base_may_set(name, sm):
                    continue
                ref = df.source.text[span.start:span.end]
                later = next((s.instruction for s in sm.steps[pos + 1:]
                              if s.instruction.keyword == "ARG"
                              and name in _arg_names(s.instruction)), None)
                if later is not None:
                    why = (f"ARG {name} is declared only later in this stage (line "
                           f"{later.start_line}), so `{ref}` expands to an empty string here; "
                           f"move the ARG above its first use")
                elif name in global_decl:
                    why = (f"`{ref}` refers to the ARG {name} declared before the first FROM "
                           f"(line {global_decl[name]}), which is not visible inside a stage "
                           f"unless the stage declares it again: it expands to an empty string "
                           f"here; add `ARG {name}` after line {sm.stage.from_.start_line}")
                else:
                    other, decl = stage_decl[name][0]
                    why = (f"`{ref}`: ARG {name} is declared in {_stage_label(other)} (line "
                           f"{decl.start_line}), not in this stage, so it expands to an empty "
                           f"string here; declare `ARG {name}` in this stage")
                yield Violation(span, why)


# ----------------------------------------------------------------------------- MLD115
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_./:=@%+,-]+$")
_POSIX_SHELLS = ("sh", "bash", "dash", "zsh", "ash", "ksh")


def _exec_form_fix(df, ins, entrypoint=None) -> Fix | None:
    """Rewrite a shell-form CMD/ENTRYPOINT in exec form (safe for plain words; unsafe through
    ``/bin/sh -c 'exec ...'`` for a single command or an ``&&``/``;`` chain)."""
    from ..model import entrypoint_script

    src = df.source
    rest = ins.effective_rest
    span = rest.span()
    value = rest.value
    if src.text[span.start:span.end] != value or "\n" in value:
        return None  # continued over several lines: leave it to the author
    words = value.split()
    if words and all(_PLAIN_WORD.match(w) for w in words):
        # with an exec-form ENTRYPOINT, the CMD words become its arguments instead of
        # `/bin/sh -c ...`: what the author meant, but a change the author should review
        safe = ins.keyword == "ENTRYPOINT" or entrypoint is None
        return Fix(edits=(Edit(span.start, span.end, json.dumps(words, ensure_ascii=False)),),
                   applicability="safe" if safe else "unsafe", title="Use the exec form")
    try:
        script = entrypoint_script(ins)
    except Exception:  # pragma: no cover - the shell parser is error tolerant
        return None
    if script is None or script.has_error or script.pipelines or not script.commands:
        return None
    cmds = script.commands
    if any(c.in_substitution or c.background or c.wrappers or c.shell_span for c in cmds):
        return None
    for a, b in zip(cmds, cmds[1:]):
        sep = src.text[a.span.end:b.span.start].strip()
        if sep not in ("&&", ";"):
            return None
    last = cmds[-1]
    if src.text[last.span.end:span.end].strip() not in ("", ";") or last.assignments \
            or last.redirects:
        return None  # `exec A=1 cmd` would run a program called `A=1`
    cut = last.span.start - span.start
    inner = value[:cut] + "exec " + value[cut:]
    return Fix(edits=(Edit(span.start, span.end,
                           json.dumps(["/bin/sh", "-c", inner], ensure_ascii=False)),),
               applicability="unsafe", title="Use the exec form (through /bin/sh -c exec)")


_WINDOWS_REPOS = re.compile(
    r"(mcr\.microsoft\.com/)?(windows|microsoft/(iis|aspnet|dotnet-framework|nanoserver|"
    r"windowsservercore|mssql-server-windows.*)|dotnet/framework)(/.*)?")


def _windows_image(ref) -> bool:
    """Whether an image reference names a Windows base image."""
    if ref is None:
        return False
    tag = (ref.tag or "").lower()
    return bool(_WINDOWS_REPOS.fullmatch(ref.repository)) or "windows" in ref.repository \
        or "nanoserver" in ref.repository or "nanoserver" in tag or "servercore" in tag \
        or "ltsc" in tag


@rule("MLD115")
def exec_form_cmd(df, model, ctx) -> Iterator[Violation]:
    """Shell-form CMD/ENTRYPOINT of the final image (PID 1 is /bin/sh)."""
    sm = model.final
    if sm is None or sm.stage.index < 0:
        return
    if sm.shell and sm.shell[0].replace("\\", "/").rsplit("/", 1)[-1].lower() \
            not in _POSIX_SHELLS:
        return  # SHELL changed to something else (e.g. powershell on Windows)
    if _windows_image(sm.root_base):
        return
    targets = []
    if sm.entrypoint is not None:
        targets.append(sm.entrypoint)
    if sm.cmd is not None and (sm.entrypoint is None or sm.entrypoint.is_json):
        targets.append(sm.cmd)
    for ins in targets:
        if ins.is_json or ins.swallowed or not ins.args:
            continue
        value = ins.effective_rest.value.strip()
        if not value or value.startswith("[") and value.endswith("]"):
            continue  # meant as exec form, but not valid JSON (MLD105's finding)
        if re.match(r"exec(\s|$)", value):
            continue
        words = value.split()
        if re.match(r"(?i)(powershell|pwsh|cmd)(\.exe)?$|[a-z]:\\", words[0]):
            continue  # a Windows container
        if words[0].rsplit("/", 1)[-1] in _POSIX_SHELLS and all(
                w.startswith("-") and "c" not in w for w in words[1:]):
            continue  # `CMD bash`: an interactive shell is the program itself
        if ins.keyword == "ENTRYPOINT":
            extra = "; a shell-form ENTRYPOINT also ignores CMD and `docker run` arguments"
        elif sm.entrypoint is not None:
            extra = "; the ENTRYPOINT receives `/bin/sh -c ...` as its arguments"
        else:
            extra = ""
        msg = (f"{ins.keyword} `{_short(value)}` is in shell form: PID 1 is /bin/sh, which does "
               f"not pass SIGTERM on to the program, so `docker stop` waits out the grace "
               f"period and then kills it without a clean shutdown{extra}; use the exec form "
               f"(or start the command with `exec `)")
        yield Violation(ins.keyword_span, msg, fix=_exec_form_fix(df, ins, sm.entrypoint))
