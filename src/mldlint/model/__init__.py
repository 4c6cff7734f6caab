"""The image model: what each build stage contains and does, computed once per file.

Rules ask the model ("is curl installed in this image?", "which user runs it?", "which pip
installs ran, with which index?") instead of re-deriving it from instructions.

Shapes:

* :class:`ImageModel` has one :class:`StageModel` per stage, in order, and ``final``.
* Each :class:`StageModel` has a list of :class:`Step` (one per instruction after FROM) holding
  the ARG/ENV in effect *before* the instruction, the USER and WORKDIR, and for RUN the parsed
  shell script with the package installs found in it (:class:`PipInstall`,
  :class:`AptInstall`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..knowledge import ImageFacts, image_facts
from ..parser.nodes import Dockerfile, Instruction, Span, Stage
from .expand import ImageRef, expand, parse_image_ref
from .packages import AptInstall, PipInstall, PackageRef, find_installs  # noqa: F401

#: ARGs BuildKit defines without a declaration (platform args and proxies)
BUILTIN_ARGS = frozenset({
    "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS",
    "BUILDARCH", "BUILDVARIANT", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
    "ALL_PROXY", "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy",
    "BUILDKIT_INLINE_CACHE", "BUILDKIT_SYNTAX", "BUILDKIT_CONTEXT_KEEP_GIT_DIR",
    "BUILDKIT_MULTI_PLATFORM", "BUILDKIT_SANDBOX_HOSTNAME", "SOURCE_DATE_EPOCH",
})


#: ARG/ENV values are kept up to this many characters. Every step holds the environment it
#: sees, so a value that grows with each instruction (``ENV PATH=/x:$PATH`` repeated) would
#: otherwise cost memory quadratic in the number of instructions; real values are far shorter.
MAX_VALUE = 4096

@dataclass
class Mount:
    """A ``RUN --mount=...`` option: ``type`` (``bind`` by default), ``target`` and the other
    key/value options as written."""

    type: str
    target: str | None
    options: dict[str, str]


@dataclass
class Step:
    """One instruction of a stage with the state in effect before it.

    Attributes:
        instruction: the instruction.
        env: ENV and ARG values in effect (name -> value; ``None`` for an ARG declared
            without a value), including inherited ones and the base image's known ENV.
        args_in_scope: ARG names declared in this stage (or inherited stages) so far.
        user: the USER in effect (``None`` = the base image's default).
        workdir: the WORKDIR in effect (``None`` = unknown/base default).
        script: for RUN (shell or heredoc forms), the parsed shell script (``None`` otherwise).
        mounts: RUN ``--mount`` options.
        pip: ``pip install`` commands of this RUN.
        apt: ``apt-get install`` (and apk/yum/dnf) commands of this RUN.
    """

    instruction: Instruction
    env: dict[str, str | None]
    args_in_scope: frozenset[str]
    user: str | None
    workdir: str | None
    script: object | None = None
    #: the SHELL in effect (exec-form argv; ``None`` = the default ``/bin/sh -c``)
    shell: list[str] | None = None
    mounts: list[Mount] = field(default_factory=list)
    pip: list[PipInstall] = field(default_factory=list)
    apt: list[AptInstall] = field(default_factory=list)

    @property
    def commands(self) -> list:
        """The simple commands of the RUN (empty for other instructions)."""
        return list(self.script.commands) if self.script is not None else []

    def has_cache_mount(self, *paths: str) -> bool:
        """Whether a cache or tmpfs mount targets one of ``paths`` (or a parent of one)."""
        for m in self.mounts:
            if m.type not in ("cache", "tmpfs") or not m.target:
                continue
            t = m.target.rstrip("/") or "/"
            for p in paths:
                p = p.rstrip("/")
                if p == t or p.startswith(t + "/"):
                    return True
        return False


@dataclass
class CopyStep:
    """A COPY/ADD: sources, destination, ``--from`` (stage or image) and the flags."""

    instruction: Instruction
    sources: list[str]
    dest: str
    from_ref: str | None
    from_stage: "StageModel | None"
    chown: str | None


@dataclass
class StageModel:
    """One build stage as the model sees it.

    Attributes:
        stage: the syntax-tree :class:`~mldlint.parser.nodes.Stage`.
        base: the base image reference after resolving ARG defaults (``None`` when it cannot
            be resolved, for an earlier stage or for the implicit stage of a fragment).
        base_complete: whether every variable in the FROM had a known value.
        parent: the earlier stage this one is built ``FROM``, if any.
        facts: knowledge-base facts about the base image (through ``parent`` chains).
        steps: one :class:`Step` per instruction after FROM.
        copies: COPY/ADD instructions.
        final_env: ENV/ARG at the end of the stage.
        user: the last USER (own or inherited), ``None`` = the base default.
    """

    stage: Stage
    base: ImageRef | None = None
    base_complete: bool = True
    parent: "StageModel | None" = None
    facts: ImageFacts | None = None
    steps: list[Step] = field(default_factory=list)
    copies: list[CopyStep] = field(default_factory=list)
    final_env: dict[str, str | None] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    shell: list[str] | None = None
    cmd: Instruction | None = None
    entrypoint: Instruction | None = None
    healthcheck: Instruction | None = None
    exposes: list[str] = field(default_factory=list)
    is_final: bool = False
    #: memo of :meth:`frameworks` / :meth:`gpu_signals` (rules call them in loops over large
    #: files), keyed on the lineage and its step counts so a model still being built is safe.
    _memo: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict, init=False,
                                                    repr=False, compare=False)

    def _memoized(self, name: str, compute: "Callable[[StageModel], list[Any]]") -> list[Any]:
        key = tuple((id(st), len(st.steps)) for st in self.lineage())
        hit = self._memo.get(name)
        if hit is None or hit[0] != key:
            hit = (key, compute(self))
            self._memo[name] = hit
        return list(hit[1])

    @property
    def index(self) -> int:
        return self.stage.index

    @property
    def name(self) -> str | None:
        return self.stage.name

    def copy_of(self, instruction: Instruction) -> "CopyStep | None":
        """The :class:`CopyStep` of one of this stage's COPY/ADD instructions (O(1))."""
        index = self.__dict__.get("_copy_index")
        if index is None or index[0] != len(self.copies):
            index = (len(self.copies), {id(cp.instruction): cp for cp in self.copies})
            self.__dict__["_copy_index"] = index
        return index[1].get(id(instruction))

    def lineage(self) -> list["StageModel"]:
        """This stage, then the stage it is built FROM, and so on."""
        out, cur = [], self
        while cur is not None and cur not in out:
            out.append(cur)
            cur = cur.parent
        return out

    @property
    def root_base(self) -> ImageRef | None:
        """The external image at the bottom of the lineage."""
        return self.lineage()[-1].base

    def runs(self) -> Iterator[Step]:
        """RUN steps of this stage."""
        return (s for s in self.steps if s.instruction.keyword == "RUN")

    def all_runs(self) -> Iterator[Step]:
        """RUN steps of the whole lineage, oldest stage first."""
        for st in reversed(self.lineage()):
            yield from st.runs()

    def installs_program(self, program: str) -> bool:
        """Whether the lineage installs ``program`` with apt/apk/yum/dnf (package named like the
        program) or COPYs a file of that name."""
        for st in self.lineage():
            for step in st.steps:
                for a in step.apt:
                    if any(p.name == program for p in a.packages):
                        return True
                if step.script is not None:
                    for c in step.script.commands:
                        if c.name in ("ln", "cp", "mv", "install") and any(
                                (w.value or "").rstrip("/").endswith("/" + program)
                                for w in c.argv[1:]):
                            return True
            for cp in st.copies:
                if cp.dest.rstrip("/").endswith("/" + program) or any(
                        s.rstrip("/").split("/")[-1] == program for s in cp.sources):
                    return True
        return False

    @property
    def cuda(self):
        """The :class:`~mldlint.model.ml.CudaProvision` of the base image, or ``None``."""
        from .ml import stage_cuda

        return stage_cuda(self)

    def frameworks(self):
        """ML framework pip installs in the lineage
        (:class:`~mldlint.model.ml.FrameworkInstall`, oldest first)."""
        from .ml import framework_installs

        return self._memoized("frameworks", framework_installs)

    def gpu_signals(self) -> list[str]:
        """Reasons to believe the image targets a GPU (see :func:`mldlint.model.ml.gpu_signals`)."""
        from .ml import gpu_signals

        return self._memoized("gpu_signals", gpu_signals)

    def has_program(self, program: str) -> bool | None:
        """True when the image provably has ``program``, False when it provably lacks it,
        ``None`` when unknown."""
        if self.installs_program(program):
            return True
        facts = self.facts
        if facts is None:
            return None
        if program in facts.has:
            return True
        if program in facts.lacks:
            return False
        return None


@dataclass
class ImageModel:
    """The model of a whole Dockerfile.

    Attributes:
        stages: one :class:`StageModel` per ``Dockerfile.stages`` entry, same order.
        final: the last stage (the image ``docker build`` produces), or ``None``.
        global_args: ARGs declared before the first FROM (name -> default or ``None``).
    """

    df: Dockerfile
    stages: list[StageModel] = field(default_factory=list)
    global_args: dict[str, str | None] = field(default_factory=dict)

    @property
    def final(self) -> StageModel | None:
        return self.stages[-1] if self.stages else None

    def stage_named(self, ref: str, before: int | None = None) -> StageModel | None:
        """The stage called ``ref`` (case-insensitive) or with index ``ref``, looking only at
        stages before position ``before`` in :attr:`stages` when given."""
        pool = self.stages if before is None else self.stages[:before]
        low = ref.lower()
        for st in reversed(pool):
            if st.name and st.name.lower() == low:
                return st
        if ref.isascii() and ref.isdigit():  # "¹".isdigit() is True, int("¹") raises
            for st in pool:
                if st.index == int(ref):
                    return st
        return None

    def _memo(self, key: str, make):
        """``make()`` computed once per model (the model does not change after
        :func:`build_model`; the cache is dropped if stages are added or removed)."""
        memo = self.__dict__.setdefault("_memoized", {})
        hit = memo.get(key)
        if hit is not None and hit[0] == len(self.stages):
            return hit[1]
        value = make()
        memo[key] = (len(self.stages), value)
        return value

    def leaf_stages(self) -> list[StageModel]:
        """Stages no other stage builds FROM, copies from or mounts (``RUN --mount=from=``):
        the images a build can produce (``--target`` picks one; the last is the default)."""
        return list(self._memo("leaf_stages", self._leaf_stages))

    def _leaf_stages(self) -> list[StageModel]:
        used: set[int] = set()
        for st in self.stages:
            if st.parent is not None:
                used.add(id(st.parent))
            for cp in st.copies:
                if cp.from_stage is not None:
                    used.add(id(cp.from_stage))
            for step in st.runs():
                for m in step.mounts:
                    ref = m.options.get("from")
                    src = self.stage_named(ref) if ref else None
                    if src is not None:
                        used.add(id(src))
        return [st for st in self.stages if id(st) not in used]

    def ships(self, sm: StageModel, path: str | None = None) -> bool:
        """Whether what ``sm``'s RUNs leave on disk can reach a produced image: ``sm`` is in
        the lineage of a leaf stage, or (when ``path``, a normalised absolute path, is given)
        such a stage copies out of ``sm`` (or a stage built on it) a folder holding ``path``.
        Copies whose source is a glob or a variable are not counted (unknown)."""
        from .paths import is_under, normalize

        shipping, shipping_ids, copies_out = self._memo("shipping", self._shipping)
        if id(sm) in shipping_ids:
            return True
        if path is None:
            return False
        for cp in copies_out:
            if not any(sm is x for x in cp.from_stage.lineage()):
                continue
            for s in cp.sources:
                if "$" in s or any(ch in s for ch in "*?["):
                    continue
                src = normalize(s, "/")
                if src and is_under(path, src):
                    return True
        return False

    def _shipping(self) -> tuple[list[StageModel], set[int], list[CopyStep]]:
        """The stages in the lineage of a leaf stage, their ids, and their copies from another
        stage (``COPY --from=<stage>``)."""
        shipping: list[StageModel] = []
        ids: set[int] = set()
        for leaf in self.leaf_stages():
            for st in leaf.lineage():
                if id(st) not in ids:
                    ids.add(id(st))
                    shipping.append(st)
        copies = [cp for st in shipping for cp in st.copies if cp.from_stage is not None]
        return shipping, ids, copies

    def step_of(self, instruction: Instruction) -> Step | None:
        """The :class:`Step` of an instruction (``None`` for FROM and the preamble)."""
        hit = self._memo("by_instruction", self._index).get(id(instruction))
        step = hit[1] if hit is not None else None
        return step if step is not None and step.instruction is instruction else None

    def stage_model_of(self, instruction: Instruction) -> StageModel | None:
        """The stage model an instruction belongs to."""
        hit = self._memo("by_instruction", self._index).get(id(instruction))
        if hit is not None:
            st, step = hit
            if (step is not None and step.instruction is instruction) or \
                    st.stage.from_ is instruction:
                return st
        return None

    def _index(self) -> dict[int, tuple[StageModel, Step | None]]:
        """id(instruction) -> (stage model, step or ``None`` for a FROM); the first stage wins,
        as the linear scans did."""
        index: dict[int, tuple[StageModel, Step | None]] = {}
        for st in self.stages:
            if st.stage.from_ is not None:
                index.setdefault(id(st.stage.from_), (st, None))
            for step in st.steps:
                index.setdefault(id(step.instruction), (st, step))
        return index


# --------------------------------------------------------------------------- building
def _parse_mounts(instr: Instruction) -> list[Mount]:
    out = []
    for f in instr.flags_named("mount"):
        opts: dict[str, str] = {}
        for part in (f.value or "").split(","):
            k, _, v = part.partition("=")
            opts[k.strip().lower()] = v.strip()
        target = opts.get("target") or opts.get("dst") or opts.get("destination")
        out.append(Mount(type=opts.get("type", "bind"), target=target, options=opts))
    return out


def _env_pairs(instr: Instruction) -> list[tuple[str, str]]:
    """(name, value) of an ENV or LABEL instruction, quotes removed."""
    vals = instr.values
    return [(vals[i], _unquote(vals[i + 1])) for i in range(0, len(vals) - 1, 2)]


def _unquote(v: str) -> str:
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    out = []
    i = 0
    while i < len(v):
        ch = v[i]
        if ch in "'\"":
            j = v.find(ch, i + 1)
            if j == -1:
                out.append(v[i + 1:])
                break
            out.append(v[i + 1:j])
            i = j + 1
            continue
        if ch == "\\" and i + 1 < len(v):
            out.append(v[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _arg_decls(instr: Instruction) -> list[tuple[str, str | None]]:
    out = []
    for a in instr.values:
        name, eq, val = a.partition("=")
        out.append((name, _unquote(val) if eq else None))
    return out


def _shell_script(instr: Instruction, shell: list[str] | None = None):
    """Parse the shell of a RUN (shell form, heredoc bodies run by a shell, or exec form with
    a shell as argv[0])."""
    from ..parser import shell as sh

    opts = sh.shell_options(shell) if shell else frozenset()
    if instr.is_json:
        vals = instr.values
        if len(vals) >= 3 and vals[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash", "zsh") and \
                vals[1] in ("-c", "-lc", "-ec", "-exc", "-xc", "-euxc", "-euc"):
            arg = instr.args[2]
            return _script_from_source(arg.value, arg.span, instr)
        return None
    rest = instr.effective_rest
    if not instr.heredocs:
        return sh.parse_shell(rest.value, rest.map, options=opts)
    # RUN with heredocs: the line (after flags) is a shell command; a bare `<<EOF` (or a shell
    # reading stdin, `bash <<EOF`) runs the heredoc body as the script.
    from ..parser.nodes import OffsetMap

    only_markers = all(w.startswith("<<") or w[:1].isdigit() for w in rest.value.split())
    if only_markers:
        script = sh.Script(commands=[])
    else:
        script = sh.parse_shell(rest.value, rest.map, options=opts)
    runs_as_shell = only_markers or any(sh.shell_heredoc_target(c) for c in script.commands)
    if runs_as_shell:
        for hd in instr.heredocs:
            om = OffsetMap()
            om.add(hd.body_span.start, len(hd.content))
            body = sh.parse_shell(hd.content, om, options=opts)
            script.commands.extend(body.commands)
            script.pipelines.extend(body.pipelines)
            script.has_error = script.has_error or body.has_error
    return script


def _script_from_source(value: str, span: Span, instr: Instruction):
    from ..parser import shell as sh
    from ..parser.nodes import OffsetMap

    om = OffsetMap()
    # exec-form JSON strings: map every character to the start of the string literal
    om.add(span.start + 1, len(value), verbatim=False)
    return sh.parse_shell(value, om)


def _cmd_script(instr: Instruction):
    """Shell script of a shell-form CMD/ENTRYPOINT/HEALTHCHECK CMD, or a pseudo-script of an
    exec-form one (argv as one command)."""
    from ..parser import shell as sh

    if instr.keyword == "HEALTHCHECK":
        if len(instr.args) < 2 or instr.args[0].value.upper() != "CMD":
            return None
        if instr.is_json:
            return _argv_script([(a.value, a.span) for a in instr.args[1:]])
        arg = instr.args[1]
        text = instr.rest.value
        start = len(text) - len(arg.value)
        return sh.parse_shell(arg.value, instr.rest.map.sub(start, len(text)))
    if instr.is_json:
        return _argv_script([(a.value, a.span) for a in instr.args])
    rest = instr.effective_rest
    return sh.parse_shell(rest.value, rest.map)


def _argv_script(pairs: list[tuple[str, Span]]):
    """A one-command script for an exec-form argv (``[(value, span)]``)."""
    from ..parser import shell as sh

    argv = [sh.Word(raw=v, value=v, span=sp) for v, sp in pairs]
    if not argv:
        return sh.Script(commands=[])
    span = Span(pairs[0][1].start, pairs[-1][1].end)
    return sh.Script(commands=[sh.Command(argv=argv, span=span)])


def entrypoint_script(instr: Instruction, source_text: str | None = None):
    """The parsed command of a CMD/ENTRYPOINT/HEALTHCHECK: a shell script for the shell form;
    for the exec form, with ``source_text`` given, the argv parsed as a shell would see it
    (wrappers such as ``tini --`` stripped, ``["sh", "-c", "..."]`` strings parsed; see
    :func:`mldlint.model.commands.exec_form_script`), else one raw command. ``None`` for
    ``HEALTHCHECK NONE``.

    Computed once per instruction and ``source_text`` (several rules ask for the same command;
    treat the result as read-only)."""
    memo = instr.__dict__.setdefault("_entrypoint_scripts", [])
    for text, script in memo:
        if text is source_text:
            return script
    script = _entrypoint_script(instr, source_text)
    memo.append((source_text, script))
    return script


def _entrypoint_script(instr: Instruction, source_text: str | None):
    from .commands import exec_form_script

    script = _cmd_script(instr)
    if script is None or not instr.is_json or source_text is None or not script.commands:
        return script
    words = script.commands[0].argv
    if any(w.value is None for w in words):
        return script
    return exec_form_script(words, source_text)


def entrypoint_commands(instr: Instruction, source_text: str | None = None) -> list:
    """The simple commands of :func:`entrypoint_script` (empty for ``HEALTHCHECK NONE``)."""
    script = entrypoint_script(instr, source_text)
    return list(script.commands) if script is not None else []


def build_model(df: Dockerfile) -> ImageModel:
    """Build the :class:`ImageModel` of a parsed Dockerfile. Does not raise on odd input
    (unknown images, unresolvable variables): such facts are left ``None``."""
    model = ImageModel(df=df)
    for ins in df.preamble:
        if ins.keyword == "ARG":
            for name, val in _arg_decls(ins):
                if val is not None:
                    val, _ = expand(val, model.global_args)
                model.global_args[name] = val
    for pos, stage in enumerate(df.stages):
        sm = StageModel(stage=stage)
        model.stages.append(sm)
        env: dict[str, str | None] = {}
        args_in_scope: set[str] = set()
        user = workdir = None
        if stage.from_ is not None and stage.base:
            resolved, complete = expand(stage.base, model.global_args)
            sm.base_complete = complete
            parent = model.stage_named(resolved, before=pos) if resolved else None
            if parent is not None and stage.base.lower() != "scratch":
                sm.parent = parent
                sm.facts = parent.facts
                env.update(parent.final_env)
                args_in_scope |= {k for k in parent.final_env if parent.final_env[k] is None}
                user, workdir = parent.user, parent.workdir
                sm.shell = parent.shell
                sm.cmd, sm.entrypoint = parent.cmd, parent.entrypoint
                sm.healthcheck = parent.healthcheck
                sm.exposes = list(parent.exposes)
            else:
                sm.base = parse_image_ref(resolved) if resolved else None
                if sm.base is not None:
                    sm.facts = image_facts(sm.base.repository, sm.base.tag)
                    if sm.facts is not None:
                        env.update({k: v for k, v in sm.facts.env.items()})
                        user = sm.facts.user
                        workdir = sm.facts.workdir
        elif stage.index == -1:
            # a fragment: global ARGs were declared in the implicit stage itself
            pass
        for ins in stage.instructions:
            step = Step(instruction=ins, env=dict(env), args_in_scope=frozenset(args_in_scope),
                        user=user, workdir=workdir, shell=sm.shell)
            sm.steps.append(step)
            kw = ins.keyword
            if ins.swallowed:
                continue
            if kw == "ARG":
                for name, val in _arg_decls(ins):
                    if val is None and name in model.global_args and stage.index >= 0:
                        val = model.global_args[name]
                    elif val is not None:
                        val, _ = expand(val, env)
                    if name in env and env[name] is not None and val is None:
                        continue
                    env[name] = val if val is None else val[:MAX_VALUE]
                    args_in_scope.add(name)
            elif kw == "ENV":
                for name, val in _env_pairs(ins):
                    env[name] = expand(val, env)[0][:MAX_VALUE]
            elif kw == "USER":
                if ins.args:
                    u, _ = expand(ins.args[0].value, env)
                    user = u.strip() or user
            elif kw == "WORKDIR":
                if ins.args:
                    w, _ = expand(_unquote(ins.args[0].value), env)
                    if w.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", w):
                        workdir = w
                    elif workdir:
                        workdir = workdir.rstrip("/") + "/" + w
                    else:
                        workdir = None
            elif kw == "SHELL":
                sm.shell = ins.values
            elif kw == "CMD":
                sm.cmd = ins
            elif kw == "ENTRYPOINT":
                sm.entrypoint = ins
                if sm.cmd is not None and not any(s.instruction is sm.cmd for s in sm.steps):
                    sm.cmd = None  # ENTRYPOINT resets a CMD inherited from the base
            elif kw == "HEALTHCHECK":
                sm.healthcheck = ins
            elif kw == "EXPOSE":
                sm.exposes.extend(expand(v, env)[0] for v in ins.values)
            elif kw in ("COPY", "ADD"):
                sm.copies.append(_copy_step(ins, env, model, pos))
            elif kw == "RUN":
                step.mounts = _parse_mounts(ins)
                if _runs_posix_shell(sm.shell) or ins.is_json:
                    try:
                        step.script = _shell_script(ins, sm.shell)
                    except RecursionError:  # pragma: no cover - absurdly nested input
                        step.script = None
                    if step.script is not None:
                        step.pip, step.apt = find_installs(step.script.commands, step.env)
        sm.final_env = env
        sm.user = user
        sm.workdir = workdir
    if model.stages:
        model.stages[-1].is_final = True
    return model


def _runs_posix_shell(shell: list[str] | None) -> bool:
    if not shell:
        return True
    prog = shell[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
    return prog in ("sh", "bash", "dash", "zsh", "ash", "ksh") or prog.startswith("conda") or \
        prog in ("micromamba", "mamba")


def _copy_step(ins: Instruction, env, model: ImageModel, pos: int) -> CopyStep:
    vals = [expand(v, env)[0] for v in ins.values]
    if ins.heredocs:
        vals = [v for v in vals if not v.startswith("<<")]
    sources, dest = (vals[:-1], vals[-1]) if len(vals) >= 2 else (vals, "")
    if ins.heredocs and len(vals) == 1:
        sources, dest = [], vals[0]
    f = ins.flag("from")
    from_ref = expand(f.value or "", env)[0] if f is not None else None
    from_stage = model.stage_named(from_ref, before=pos) if from_ref else None
    chown = ins.flag("chown")
    return CopyStep(ins, sources, dest, from_ref, from_stage, chown.value if chown else None)


def exec_argv(instr: Instruction) -> list[str] | None:
    """The argv of an exec-form CMD/ENTRYPOINT, else ``None``."""
    if instr.is_json:
        return instr.values
    return None


__all__ = ["ImageModel", "StageModel", "Step", "CopyStep", "Mount", "build_model", "exec_argv",
           "entrypoint_script", "entrypoint_commands",
           "PipInstall", "AptInstall", "PackageRef"]
