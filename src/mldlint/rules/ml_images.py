"""Rules: GPU at build time, ML caches and framework images (MLD204, MLD704, MLD705, MLD707-MLD712, MLD714).

Several rules read the Python code a RUN executes (``python -c '...'``, ``python - <<EOF``
bodies, ``#!/usr/bin/env python`` heredoc scripts, exec-form ``["python", "-c", ...]``). The
model has no notion of that yet, so the helpers below find those snippets and analyse them
with :mod:`ast` (with a regular-expression fallback for code that does not parse, e.g. code
holding shell ``$VARS``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator

from ..fixer import Edit, Fix, Saving
from ..knowledge import ml as kb
from ..knowledge import ml_images as kbi
from ..model.expand import expand
from ..parser.nodes import Span
from .base import Violation, rule

_PYTHON_RE = re.compile(r"python(\d+(\.\d+)*)?$")
_PY_CALLER_RE = re.compile(r"(?:^|[\s;&|(])(?:[\w./-]*/)?python[\d.]*(?:\s|$)")


# =============================================================================== helpers
def _is_root(user: str | None) -> bool:
    """Whether a USER value means root (``None`` = the image default, root for known bases
    whose facts name no user)."""
    if user is None:
        return True
    return user.split(":", 1)[0].strip() in ("root", "0")


def _is_python(name: str | None) -> bool:
    return bool(name and _PYTHON_RE.match(name))


@dataclass
class _Snippet:
    """Python code a RUN executes.

    ``region`` is the source span holding the code (the ``-c`` word, the heredoc body);
    ``base`` is the source offset of ``code[0]`` when the code is a verbatim copy of the
    source (heredoc bodies), else ``None``; ``cmd`` is the shell command (``None`` for
    heredoc and exec-form code); ``how`` names the form for messages."""

    code: str
    region: Span
    base: int | None
    cmd: object | None
    how: str


def _unquote_raw(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def _python_snippets(step, text: str) -> list[_Snippet]:
    """The Python snippets executed by a RUN step."""
    ins = step.instruction
    out: list[_Snippet] = []
    if ins.is_json:
        vals = ins.values
        if vals and _is_python(vals[0].replace("\\", "/").rsplit("/", 1)[-1]) and "-c" in vals:
            k = vals.index("-c")
            if k + 1 < len(vals):
                out.append(_Snippet(vals[k + 1], ins.args[k + 1].span, None, None,
                                    f"{vals[0]} -c"))
        return out
    for cmd in step.commands:
        if not _is_python(cmd.name):
            continue
        args = cmd.argv[1:]
        for k, w in enumerate(args):
            if w.value == "-c" and k + 1 < len(args):
                code_w = args[k + 1]
                code = code_w.value if code_w.value is not None else _unquote_raw(code_w.raw)
                out.append(_Snippet(code, code_w.span, None, cmd, f"{cmd.name} -c"))
                break
            if w.value is not None and not w.value.startswith("-"):
                break  # a script file or module: not inline code
    line = ins.effective_rest.value
    only_markers = all(w.startswith("<<") or w[:1].isdecimal() for w in line.split())
    for hd in ins.heredocs:
        first = hd.content.lstrip().split("\n", 1)[0]
        is_py = False
        how = "python heredoc"
        if only_markers:
            is_py = first.startswith("#!") and "python" in first
            how = "python heredoc script"
        else:
            pos = line.find(hd.marker)
            if pos >= 0:
                seg_start = max(line.rfind(c, 0, pos) for c in ";&|(") + 1
                before = line[seg_start:pos]
                after = line[pos + len(hd.marker):]
                after = re.split(r"[;&]", after, maxsplit=1)[0]
                is_py = bool(_PY_CALLER_RE.search(" " + before.strip() + " ") and
                             re.match(r"\s*(?:[\w./-]*/)?python[\d.]*\b",
                                      re.sub(r"^\s*(?:\w+=\S*\s+)*(?:sudo\s+)?", "", before))) \
                    or bool(re.search(r"\|\s*(?:[\w./-]*/)?python[\d.]*\b", after))
        if is_py:
            out.append(_Snippet(hd.content, hd.body_span, hd.body_span.start, None, how))
    return out


def _locate(sn: _Snippet, text: str, token: str | None, index: int | None) -> Span:
    """Source span of ``token`` (found at ``index`` of the code when known)."""
    if token:
        if sn.base is not None and index is not None:
            return Span(sn.base + index, sn.base + index + len(token))
        region = text[sn.region.start:sn.region.end]
        k = region.find(token)
        if k < 0:
            k = region.find(token.split("(", 1)[0])
            if k >= 0:
                return Span(sn.region.start + k, sn.region.start + k + len(token.split("(", 1)[0]))
        else:
            return Span(sn.region.start + k, sn.region.start + k + len(token))
    return sn.region


def _dotted(node) -> str:
    """``torch.cuda.is_available`` for the function of a call (``""`` when not a name chain)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    else:
        return ""
    return ".".join(reversed(parts))


def _is_gpu_query(node) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    if name.endswith(("cuda.is_available", "cuda.device_count", "test.is_gpu_available")) or \
            name == "is_gpu_available":
        return True
    if name.endswith("list_physical_devices"):
        for a in list(node.args) + [k.value for k in node.keywords]:
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.upper() == "GPU":
                return True
    return False


def _gpu_queries(node) -> list:
    return [n for n in ast.walk(node) if _is_gpu_query(n)]


def _exits(stmts) -> bool:
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, ast.Raise):
                return True
            if isinstance(n, ast.Call) and _dotted(n.func) in ("sys.exit", "exit", "quit",
                                                                 "os._exit", "os.abort"):
                return True
    return False


def _index(code: str, lines: list[str], node) -> int:
    ln = node.lineno - 1
    prefix = lines[ln].encode("utf-8")[:node.col_offset].decode("utf-8", "ignore")
    return sum(len(x) for x in lines[:ln]) + len(prefix)


def _parse(code: str):
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parents(tree) -> dict:
    par = {}
    for n in ast.walk(tree):
        for c in ast.iter_child_nodes(n):
            par[c] = n
    return par


_ASSERT_FALLBACK = re.compile(
    r"\bassert\b[^\n;]*?(cuda\.is_available\(\s*\)|cuda\.device_count\(\s*\)|"
    r"list_physical_devices\(\s*['\"]GPU['\"]\s*\))")
_CUDA_CALL_FALLBACK = re.compile(r"\.cuda\(\s*\)")


def _gpu_requirement(code: str) -> tuple[str, str, int | None] | None:
    """The first thing in ``code`` that needs a GPU at run time of the snippet:
    ``(description, token, index in code)``, or ``None``."""
    tree = _parse(code)
    if tree is None:
        m = _ASSERT_FALLBACK.search(code)
        if m:
            return (f"asserts `{m.group(1)}`", m.group(1), m.start(1))
        if "is_available" not in code:
            m = _CUDA_CALL_FALLBACK.search(code)
            if m:
                return ("moves a tensor or model to the GPU with `.cuda()`", ".cuda()", m.start())
        return None
    lines = code.splitlines(keepends=True) or [""]
    seg = lambda n: ast.get_source_segment(code, n) or ""  # noqa: E731
    par = _parents(tree)
    found = []
    for n in ast.walk(tree):
        q = None
        if isinstance(n, ast.Assert):
            qs = _gpu_queries(n.test)
            q = qs[0] if qs else None
        elif isinstance(n, ast.If):
            qs = _gpu_queries(n.test)
            if qs and (_exits(n.body) or _exits(n.orelse)):
                q = qs[0]
        elif isinstance(n, ast.Call) and _dotted(n.func) in ("sys.exit", "exit", "quit"):
            qs = [x for a in n.args for x in _gpu_queries(a)]
            q = qs[0] if qs else None
        if q is not None and not _guarded(q, par, allow_if=True):
            found.append((_index(code, lines, q), f"asserts `{seg(q)}`", seg(q)))
    for n in ast.walk(tree):
        if not isinstance(n, ast.Call) or _guarded(n, par):
            continue
        f = n.func
        what = None
        if isinstance(f, ast.Attribute) and f.attr == "cuda" and not (
                isinstance(f.value, ast.Name) and f.value.id == "torch") and \
                all(isinstance(a, ast.Constant) for a in n.args):
            what = ("moves a tensor or model to the GPU with `.cuda()`", n)
        elif isinstance(f, ast.Attribute) and f.attr == "to" and n.args and \
                _cuda_str(n.args[0]):
            what = (f"moves a tensor or model to the GPU with `{seg(n)[:60]}`", n)
        else:
            for k in n.keywords:
                if k.arg == "device" and _cuda_str(k.value):
                    what = (f"allocates on the GPU (`device={seg(k.value)}`)", k.value)
                    break
        if what is not None:
            node = what[1]
            token = seg(node) if node is not n else seg(n)
            if isinstance(f, ast.Attribute) and f.attr == "cuda" and node is n:
                token = ".cuda("
                idx = _index(code, lines, n)
                idx = code.find(".cuda(", idx)
            else:
                idx = _index(code, lines, node)
            found.append((idx, what[0], token))
    if not found:
        return None
    found.sort(key=lambda t: t[0])
    idx, desc, token = found[0]
    return desc, token, idx if idx >= 0 else None


def _cuda_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        re.fullmatch(r"cuda(:\d+)?", node.value) is not None


def _guarded(node, par, allow_if: bool = False) -> bool:
    """Inside a function/class body, a try block, or (unless ``allow_if``) a branch whose
    condition asks whether a GPU exists."""
    cur = node
    while cur in par:
        p = par[cur]
        if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                          ast.Try)):
            return True
        if isinstance(p, (ast.If, ast.IfExp, ast.While)) and cur is not p.test and \
                not allow_if and _gpu_queries(p.test):
            return True
        cur = p
    return False


def _fails_build(cmd, ins, text: str) -> bool:
    """Whether a failure of shell command ``cmd`` fails the RUN (approximation: not negated,
    not in a substitution or a condition, not followed by ``||`` or a pipe, and either the last
    statement of the script or run under ``set -e``)."""
    if cmd is None:
        return True
    if cmd.negated or cmd.in_substitution or cmd.background:
        return False
    start = cmd.span.end
    end = ins.span.end
    for hd in ins.heredocs:
        if hd.body_span.start <= cmd.span.start < hd.body_span.end:
            end = hd.body_span.end
            break
    else:
        end = min(end, ins.effective_rest.span().end) if ins.effective_rest.value else end
    before = text[ins.keyword_span.end if not ins.heredocs else 0:cmd.span.start]
    before = re.sub(r"\\\r?\n", " ", before[-40:]).rstrip(" \t'\"")
    if re.search(r"(?:^|[\s;&|({])(if|elif|while|until|!)$", before):
        return False
    after = text[start:end]
    after = re.sub(r"\\\r?\n", " ", after)
    # the rest of the and-or list: up to the first `;`, newline or `&` (not `&&`)
    m = re.match(r"^[ \t'\"]*", after)
    rest = after[m.end():]
    if rest.startswith("||"):
        return False
    if rest.startswith("|"):
        return "pipefail" in cmd.options
    stop = re.search(r";|\n|(?<!&)&(?!&)", rest)
    seg = rest[:stop.start()] if stop else rest
    if "||" in seg:
        return False
    if stop is None:
        return True
    remaining = rest[stop.end():]
    remaining = re.sub(r"(?m)^\s*#.*$", "", remaining)
    if not re.sub(r"\b(fi|done|esac|then|else)\b|[\s;'\"})]", "", remaining):
        return True
    return "errexit" in cmd.options


# =============================================================================== MLD704
@rule("MLD704")
def gpu_required_at_build(df, model, ctx) -> Iterator[Violation]:
    """A RUN needs a GPU, which ``docker build`` never provides."""
    text = df.source.text
    for sm in model.stages:
        for step in sm.runs():
            ins = step.instruction
            if ins.swallowed:
                continue
            for sn in _python_snippets(step, text):
                req = _gpu_requirement(sn.code)
                if req is None or not _fails_build(sn.cmd, ins, text):
                    continue
                desc, token, idx = req
                yield Violation(
                    _locate(sn, text, token, idx),
                    f"this RUN ({sn.how}) {desc}, but `docker build` runs RUN steps without a GPU "
                    f"or driver, so the build fails here; check the GPU when the container starts "
                    f"(ENTRYPOINT script, HEALTHCHECK or a test run with `docker run --gpus all`)")
            for cmd in step.commands:
                if cmd.name == "nvidia-smi" and _fails_build(cmd, ins, text):
                    yield Violation(
                        cmd.argv[0].span,
                        "`nvidia-smi` is not in the image: the NVIDIA container toolkit mounts it "
                        "when a container starts with a GPU, and `docker build` has none, so this "
                        "RUN fails; run it at container start (ENTRYPOINT) or drop it")
            for pip in step.pip:
                if pip.kind != "uv":
                    continue
                env = dict(step.env)
                env.update(pip.command.assignments)
                opt = next((o for o in pip.options if o.startswith("--torch-backend=")), None)
                backend = opt.split("=", 1)[1] if opt else env.get("UV_TORCH_BACKEND")
                if backend != "auto":
                    continue
                span = pip.command.span
                for w in pip.command.argv:
                    if (w.value or "").startswith("--torch-backend"):
                        span = w.span
                        break
                via = "`--torch-backend=auto`" if opt else "`UV_TORCH_BACKEND=auto`"
                yield Violation(
                    span,
                    f"uv with {via} picks the PyTorch build from the GPU driver it sees, and "
                    f"`docker build` has no GPU, so this installs the CPU wheels; name the CUDA "
                    f"build (e.g. `--torch-backend=cu124`) that matches the image")


# =============================================================================== MLD705
_GPU_INDEX_LIST = re.compile(r"^\s*(\d+|GPU-[0-9A-Fa-f-]+|MIG-[\w/.-]+)(\s*,\s*(\d+|GPU-[0-9A-Fa-f-]+|MIG-[\w/.-]+))*\s*$")


def _env_pairs(ins):
    """(key Arg, value Arg) pairs of an ENV instruction."""
    args = ins.args
    return [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]


@rule("MLD705")
def cuda_visible_devices_baked(df, model, ctx) -> Iterator[Violation]:
    """ENV fixes which GPUs the container sees."""
    sm = model.final
    if sm is None:
        return
    text = df.source.text
    for st in reversed(sm.lineage()):
        for step in st.steps:
            ins = step.instruction
            if ins.keyword != "ENV" or ins.swallowed:
                continue
            pairs = _env_pairs(ins)
            for k, (key, val) in enumerate(pairs):
                raw = _unquote_raw(val.value)
                value, _ = expand(raw, step.env)
                value = value.strip()
                if key.value == "CUDA_VISIBLE_DEVICES":
                    if value in ("", "-1") or value.lower() in ("none", "nodevfiles"):
                        continue  # a deliberate "run on CPU"
                    msg = (f"`ENV CUDA_VISIBLE_DEVICES={raw}` is baked into the image: inside the "
                           f"container the GPUs passed with `--gpus`/the orchestrator are numbered "
                           f"from 0, so a fixed list hides the GPUs it does not name, or all of "
                           f"them when it names an index the container does not have; choose "
                           f"devices at run time "
                           f"(`docker run --gpus`, `-e CUDA_VISIBLE_DEVICES=...`, Kubernetes "
                           f"resources)")
                elif key.value == "NVIDIA_VISIBLE_DEVICES":
                    if not _GPU_INDEX_LIST.match(value):
                        continue
                    msg = (f"`ENV NVIDIA_VISIBLE_DEVICES={raw}` fixes which GPUs the NVIDIA runtime "
                           f"gives every container of this image, overriding what the scheduler "
                           f"assigns; leave it `all` (as NVIDIA's images do) and choose devices at "
                           f"run time with `--gpus`")
                else:
                    continue
                yield Violation(Span(key.span.start, val.span.end), msg,
                                fix=_remove_env_fix(text, ins, pairs, k))


def _remove_env_fix(text: str, ins, pairs, k: int) -> Fix | None:
    """Remove pair ``k`` from an ENV instruction (the whole instruction when it is its only
    pair)."""
    key, val = pairs[k]
    if len(pairs) == 1:
        start = text.rfind("\n", 0, ins.span.start) + 1
        if text[start:ins.span.start].strip():
            return None
        end = ins.span.end
        if text.startswith("\r\n", end):
            end += 2
        elif text.startswith("\n", end):
            end += 1
        edit = Edit(start, end, "")
    elif k + 1 < len(pairs):
        edit = Edit(key.span.start, pairs[k + 1][0].span.start, "")
    else:
        edit = Edit(pairs[k - 1][1].span.end, val.span.end, "")
    return Fix(edits=(edit,), applicability="safe", title=f"Remove {key.value} from ENV")


# =============================================================================== MLD204
_COMPILE_ENV = ("TORCH_CUDA_ARCH_LIST", "CUDA_HOME", "FORCE_CUDA", "CMAKE_CUDA_ARCHITECTURES",
                "TCNN_CUDA_ARCHITECTURES")
_DEV_PKG_RE = re.compile(r"^(cmake|cuda-[\w.-]*-dev[\w.-]*|cuda-toolkit[\w.-]*|cuda-nvcc[\w.-]*|"
                         r"libcudnn\d*-dev[\w.=+-]*|libnccl-dev[\w.=+-]*|nvidia-cuda-toolkit)$")
#: programs whose presence as CMD/ENTRYPOINT marks an interactive development container
_DEV_PROGRAMS = frozenset({"bash", "sh", "zsh", "jupyter", "jupyter-lab", "jupyter-notebook",
                           "jupyterhub", "start-notebook.sh", "start.sh", "sleep", "sshd",
                           "code-server", "tail", "make"})
_BUILD_TOOLS = frozenset({"nvcc", "cmake", "make", "ninja", "bazel", "bazelisk", "meson",
                          "scons", "gmake"})


def _git_repo_name(url: str) -> str | None:
    m = re.search(r"#egg=([A-Za-z0-9_.-]+)", url)
    if m:
        return kb_canonical(m.group(1))
    u = re.sub(r"[#?].*$", "", url).rstrip("/")
    u = re.sub(r"@[^/]*$", "", u)
    name = u.rsplit("/", 1)[-1]
    if name.endswith(".git"):
        name = name[:-4]
    return kb_canonical(name) if name else None


def kb_canonical(name: str) -> str:
    """PEP 503 canonical name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _req_file_compiles(ctx, path: str, workdir: str | None) -> bool:
    """Whether a requirements file in the build context names a CUDA-extension package or a
    source (git/sdist) requirement."""
    cands = [path.lstrip("./")]
    if "/" in path:
        cands.append(path.rsplit("/", 1)[-1])
    body = None
    for c in cands:
        body = ctx.read_context_file(c)
        if body is not None:
            break
    if body is None:
        return False
    exts = kb.cuda_extension_packages()
    for line in body.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--no-binary") or "git+" in line or line.endswith((".tar.gz", ".zip")):
            return True
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if m and kb_canonical(m.group(1)) in exts - {"xformers"}:
            return True
    return False


def _compiles_cuda(lineage, ctx) -> str | None:
    """A reason to believe the lineage compiles CUDA code (so it needs the devel toolchain)."""
    exts = kb.cuda_extension_packages()
    for st in lineage:
        for name in _COMPILE_ENV:
            if st.final_env.get(name) is not None and name in st.final_env:
                return f"{name} is set"
        for step in st.runs():
            if step.instruction.swallowed:
                continue
            script_text = getattr(step.script, "text", "") or ""
            if re.search(r"\b(TORCH_CUDA_ARCH_LIST|CUDA_HOME|DS_BUILD_OPS)\b", script_text):
                return "a CUDA build variable is set"
            for a in step.apt:
                for p in a.packages:
                    if _DEV_PKG_RE.match(p.name):
                        return f"`{p.name}` (CUDA build tooling) is installed"
            for cmd in step.commands:
                if cmd.name in _BUILD_TOOLS:
                    return f"`{cmd.name}` runs"
                if cmd.name == "configure" or (cmd.name == "R" and "INSTALL" in
                                               [w.value for w in cmd.argv[1:3]]):
                    return "a source build runs"
                if any(re.search(r"(^|/)(build|install|compile|make|setup)[\w.-]*\.sh$",
                                 w.value or "") for w in cmd.argv[:2]):
                    return "a build script runs"
                if cmd.name in ("conda", "mamba", "micromamba") and any(
                        (w.value or "").startswith(("magma-cuda", "cuda-nvcc", "cudatoolkit-dev"))
                        for w in cmd.argv[2:]):
                    return "CUDA build packages are installed with conda"
                vals = [w.value or "" for w in cmd.argv[1:]]
                if _is_python(cmd.name) and any(v.endswith("setup.py") for v in vals):
                    return "a `setup.py` build runs"
                if _is_python(cmd.name) and vals[:2] == ["-m", "build"]:
                    return "`python -m build` runs"
                if cmd.name in ("pip", "pip3") and vals[:1] == ["wheel"]:
                    return "`pip wheel` runs"
            for pip in step.pip:
                opts = pip.options
                if "--no-build-isolation" in opts or any(o.startswith("--no-binary") for o in opts):
                    return "pip builds from source (`--no-build-isolation`/`--no-binary`)"
                if pip.local:
                    return f"pip installs the local source `{pip.local[0]}`"
                for ref in pip.packages:
                    if ref.url and not re.search(r"\.whl$", ref.url, re.I):
                        return f"pip builds `{ref.raw}` from source"
                    if ref.name in exts and ref.name != "xformers":
                        return f"pip installs `{ref.name}`, which compiles CUDA extensions"
                for rf in pip.requirement_files:
                    if _req_file_compiles(ctx, rf, step.workdir):
                        return f"`{rf}` names packages built from source"
    return None


@rule("MLD204")
def devel_image_in_final_stage(df, model, ctx) -> Iterator[Violation]:
    """The final stage runs on a CUDA ``-devel`` image without compiling CUDA code."""
    sm = model.final
    if sm is None or sm.stage.from_ is None or sm.stage.from_.swallowed:
        return
    cuda = sm.cuda
    root = sm.lineage()[-1]
    if cuda is None or not cuda.flavor or not cuda.flavor.endswith("devel") or root.base is None:
        return
    if root.base.repository not in ("nvidia/cuda", "pytorch/pytorch"):
        return
    if _compiles_cuda(sm.lineage(), ctx) or _dev_container(sm):
        return
    arg = sm.stage.from_.args[0] if sm.stage.from_.args else None
    if arg is None:
        return
    image = f"{root.base.repository}:{root.base.tag}"
    runtime_tag = root.base.tag.replace("devel", "runtime")
    via = "" if sm.parent is None else f" (through stage `{sm.stage.base}`)"
    msg = (f"the final stage runs on `{image}`{via}, a CUDA -devel image: nvcc, headers and static "
           f"libraries roughly double its size (e.g. 2.6 GB vs 1.2 GB for the runtime flavor) and "
           f"nothing here compiles CUDA code; use `{root.base.repository}:{runtime_tag}`, or "
           f"compile in a -devel builder stage and copy the results")
    fix = None
    written = df.source.text[arg.span.start:arg.span.end]
    if sm.parent is None and written.count("devel") == 1:
        k = arg.span.start + written.index("devel")
        from ..knowledge.sizes import devel_over_runtime

        fix = Fix(edits=(Edit(k, k + len("devel"), "runtime"),), applicability="unsafe",
                  title=f"Use the runtime flavor {runtime_tag}",
                  saves=Saving(devel_over_runtime(), "runtime base"))
    yield Violation(arg.span, msg, fix=fix)


def _dev_container(sm) -> bool:
    """An image without its own command, or whose command is a shell, a notebook server or
    ``sleep``: an interactive development environment, where the toolkit is wanted."""
    from ..model import entrypoint_script

    progs = []
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        script = entrypoint_script(ins)
        cmds = list(script.commands) if script is not None else []
        if cmds:
            progs.append(cmds[0].name or "")
            # `tini -- start-notebook.sh`: wrappers are stripped by the shell model
    if not progs:
        return True
    return any(p in _DEV_PROGRAMS or p.endswith("notebook.sh") for p in progs)


# =============================================================================== MLD707 / MLD708
_DL_FUNCS = {"from_pretrained": "hf", "snapshot_download": "hf", "hf_hub_download": "hf",
             "pipeline": "hf", "SentenceTransformer": "sentence_transformers",
             "load_dataset": "datasets", "torch.hub.load": "torch", "hub.load": "torch",
             "load_state_dict_from_url": "torch"}


def _looks_local(s: str) -> bool:
    return s.startswith(("/", ".", "~", "$")) or s.count("/") > 1 or s == ""


@dataclass
class _Download:
    """A model/dataset download found in a RUN."""

    func: str
    kind: str
    repo: str | None
    span: Span
    revision: bool
    cache_dir: str | None  # cache_dir/local_dir given (value, or "?" when not a literal)


def _str_value(node, consts: dict) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    return None


def _downloads(step, text: str) -> list[_Download]:
    """Model and dataset downloads a RUN performs (Python calls and the hf CLI)."""
    out = []
    for sn in _python_snippets(step, text):
        tree = _parse(sn.code)
        if tree is None:
            continue
        lines = sn.code.splitlines(keepends=True) or [""]
        consts = {}
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and \
                    isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Constant) and \
                    isinstance(n.value.value, str):
                consts[n.targets[0].id] = n.value.value
        for n in ast.walk(tree):
            if not isinstance(n, ast.Call):
                continue
            name = _dotted(n.func)
            short = name.rsplit(".", 1)[-1]
            if short == "load":
                kind = "torch" if name.endswith("hub.load") else None
            else:
                kind = _DL_FUNCS.get(short)
            if kind is None:
                continue
            kw = {k.arg: k.value for k in n.keywords if k.arg}
            if short == "pipeline":
                first = kw.get("model")
            else:
                first = n.args[0] if n.args else (kw.get("repo_id") or
                                                  kw.get("pretrained_model_name_or_path") or
                                                  kw.get("model_name_or_path") or kw.get("path"))
            repo = _str_value(first, consts) if first is not None else None
            if short == "pipeline" and first is None:
                repo = None  # the task's default model
            cache = None
            for key in ("cache_dir", "local_dir", "model_dir", "cache_folder"):
                if key in kw:
                    v = _str_value(kw[key], consts)
                    cache = v if v is not None else "?"
            if "local_files_only" in kw:
                continue
            node = first if first is not None else n
            idx = _index(sn.code, lines, node)
            token = ast.get_source_segment(sn.code, node) or None
            out.append(_Download(short if short != "load" else name, kind, repo,
                                 _locate(sn, text, token, idx), "revision" in kw, cache))
    for cmd in step.commands:
        vals = [w.value for w in cmd.argv]
        if cmd.name in ("huggingface-cli", "hf") and len(vals) > 2 and vals[1] == "download":
            pos = [w for w in cmd.argv[2:] if (w.value or "-").startswith("-") is False]
            opts = [v or "" for v in vals[2:]]
            repo_w = pos[0] if pos else None
            cache = None
            for o_i, o in enumerate(opts):
                if o.split("=", 1)[0] in ("--local-dir", "--cache-dir"):
                    cache = o.split("=", 1)[1] if "=" in o else (opts[o_i + 1] if o_i + 1 < len(opts) else "?")
            out.append(_Download(f"{cmd.name} download", "hf",
                                 repo_w.value if repo_w is not None else None,
                                 repo_w.span if repo_w is not None else cmd.argv[0].span,
                                 any(o.startswith("--revision") for o in opts), cache))
    return out


@rule("MLD707")
def unpinned_model_revision(df, model, ctx) -> Iterator[Violation]:
    """A model downloaded at build time without a revision."""
    text = df.source.text
    for sm in model.stages:
        for step in sm.runs():
            if step.instruction.swallowed:
                continue
            for d in _downloads(step, text):
                if d.revision or d.repo is None or _looks_local(d.repo) or d.kind == "torch":
                    continue
                hint = "`--revision <commit>`" if "download" in d.func and " " in d.func else \
                    "`revision=\"<commit sha>\"`"
                yield Violation(
                    d.span,
                    f"`{d.func}` downloads `{d.repo}` at build time without a revision: the "
                    f"Hub's main branch can change, so two builds of this Dockerfile may contain "
                    f"different weights; pass {hint}")


def _cache_location(d: _Download, env: dict) -> str:
    if d.cache_dir is not None:
        return d.cache_dir
    for name in kbi.cache_env(d.kind):
        v = env.get(name)
        if v:
            return v
    sub = {"hf": "huggingface", "datasets": "huggingface/datasets", "torch": "torch",
           "sentence_transformers": "huggingface"}[d.kind]
    return (env.get("HOME") or "/root").rstrip("/") + "/.cache/" + sub


def _user_home(lineage, user: str) -> str:
    name = user.split(":", 1)[0]
    for st in reversed(lineage):
        for step in st.runs():
            for cmd in step.commands:
                if cmd.name in ("useradd", "adduser"):
                    vals = [w.value or "" for w in cmd.argv[1:]]
                    pos = [v for v in vals if not v.startswith("-")]
                    home = None
                    for i, v in enumerate(vals):
                        if v in ("-d", "--home-dir", "--home") and i + 1 < len(vals):
                            home = vals[i + 1]
                    uid = None
                    for i, v in enumerate(vals):
                        if v in ("-u", "--uid") and i + 1 < len(vals):
                            uid = vals[i + 1]
                    if not pos:
                        continue
                    uname = pos[-1]
                    if name not in (uname, uid):
                        continue
                    if home:
                        return home
                    creates = cmd.name == "adduser" and "--no-create-home" not in vals or \
                        any(v in ("-m", "--create-home") for v in vals)
                    return f"/home/{uname}" if creates else "/"
    return f"the home of user {name}"


def _chowns(lineage, path: str) -> bool:
    """Whether a chown/chmod (or ``install -d -o``, ``mkdir -m``) in the lineage touches
    ``path``, a parent of it or something inside it."""
    p = path.rstrip("/")
    for st in lineage:
        for step in st.runs():
            for cmd in step.commands:
                if cmd.name not in ("chown", "chmod", "chgrp", "setfacl", "install", "mkdir"):
                    continue
                vals = [w.value or "" for w in cmd.argv[1:]]
                if cmd.name == "mkdir" and not any(v.startswith("-m") or v.startswith("--mode")
                                                   for v in vals):
                    continue
                if cmd.name == "install" and not any(v in ("-o", "--owner", "-m", "--mode") or
                                                     v.startswith(("-o", "--owner=", "--mode="))
                                                     for v in vals):
                    continue
                for v in vals:
                    t = v.rstrip("/")
                    if t and (t == p or p.startswith(t + "/") or t.startswith(p + "/")):
                        return True
        for cp in st.copies:
            if cp.chown and (cp.dest.rstrip("/") == p or cp.dest.startswith(p + "/")):
                return True
    return False


@rule("MLD708")
def ml_cache_not_writable(df, model, ctx) -> Iterator[Violation]:
    """The non-root runtime user cannot use the model caches the build prepared."""
    sm = model.final
    if sm is None or _is_root(sm.user) or "$" in (sm.user or ""):
        return
    text = df.source.text
    lineage = list(reversed(sm.lineage()))
    user = sm.user
    home = _user_home(lineage, user)
    user_line = None
    for st in lineage:
        for step in st.steps:
            if step.instruction.keyword == "USER" and not step.instruction.swallowed:
                user_line = step.instruction.start_line
    at = f" (USER on line {user_line})" if user_line else ""
    # (a) downloads into root's cache
    root_fixed = _chowns(lineage, "/root")
    if not root_fixed:
        for st in lineage:
            for step in st.runs():
                if step.instruction.swallowed or not _is_root(step.user):
                    continue
                for d in _downloads(step, text):
                    if d.repo is not None and _looks_local(d.repo):
                        continue
                    env = dict(step.env)
                    loc = _cache_location(d, env)
                    if not loc.startswith("/root"):
                        continue
                    what = f"`{d.repo}`" if d.repo else "the model"
                    yield Violation(
                        d.span,
                        f"`{d.func}` stores {what} in root's cache ({loc}) during the build, but "
                        f"the image runs as user `{user}`{at}, whose cache is under {home}; "
                        f"/root is mode 700, so that user cannot read it and downloads again at "
                        f"start (or fails offline); set e.g. `ENV HF_HOME=/opt/hf` before the "
                        f"download and make it readable by that user")
            for cp in st.copies:
                if cp.dest.startswith("/root/.cache") or cp.dest.rstrip("/") == "/root":
                    if not any(re.search(r"(cache|huggingface|torch|\.cache)", s) for s in cp.sources):
                        continue
                    yield Violation(
                        cp.instruction.keyword_span,
                        f"model caches are copied to {cp.dest}, but the image runs as user "
                        f"`{user}`{at}; /root is mode 700, so that user cannot read them and "
                        f"downloads again at start (or fails offline); copy them to a folder "
                        f"named by HF_HOME/TORCH_HOME with `--chown={user.split(':')[0]}`")
    # (b) cache folder created by root and never handed to the user
    names = []
    for kind in ("hf", "datasets", "torch", "sentence_transformers"):
        for n in kbi.cache_env(kind):
            if n not in names:
                names.append(n)
    for name in names:
        path = sm.final_env.get(name)
        if not path or not path.startswith("/") or "$" in path:
            continue
        p = path.rstrip("/")
        created = _created_by_root(lineage, p)
        if created is None or _chowns(lineage, p):
            continue
        env_arg = _env_setting(lineage, name)
        span = env_arg if env_arg is not None else created[1]
        yield Violation(
            span,
            f"{name}={path} is created by root ({created[0]}) and never chowned or chmodded, but "
            f"the image runs as user `{user}`{at}: downloads into it at run time fail with "
            f"PermissionError; create it with `--chown`, `chown` it, or create it after the "
            f"USER switch")


def _created_by_root(lineage, p: str) -> tuple[str, Span] | None:
    for st in lineage:
        for step in st.steps:
            ins = step.instruction
            if ins.swallowed:
                continue
            if ins.keyword == "WORKDIR" and _is_root(step.user) and ins.args:
                w = _unquote_raw(ins.args[0].value).rstrip("/")
                if w == p:
                    return (f"WORKDIR on line {ins.start_line}", ins.keyword_span)
            if ins.keyword == "RUN" and _is_root(step.user):
                for cmd in step.commands:
                    if cmd.name != "mkdir":
                        continue
                    vals = [w.value or "" for w in cmd.argv[1:]]
                    if any(v.startswith("-m") or v.startswith("--mode") for v in vals):
                        continue
                    for w in cmd.argv[1:]:
                        v = (w.value or "").rstrip("/")
                        if v == p or v.startswith(p + "/"):
                            return (f"`mkdir` on line {ins.start_line}", w.span)
        for cp in st.copies:
            if cp.chown is None and (cp.dest.rstrip("/") == p or cp.dest.startswith(p + "/")):
                return (f"COPY on line {cp.instruction.start_line}", cp.instruction.keyword_span)
    return None


def _env_setting(lineage, name: str) -> Span | None:
    found = None
    for st in lineage:
        for step in st.steps:
            ins = step.instruction
            if ins.keyword == "ENV" and not ins.swallowed:
                for key, val in _env_pairs(ins):
                    if key.value == name:
                        found = Span(key.span.start, val.span.end)
    return found


# =============================================================================== MLD709
@rule("MLD709")
def opencv_gui_in_headless_image(df, model, ctx) -> Iterator[Violation]:
    """The GUI OpenCV wheel in an image without libGL."""
    sm = model.final
    if sm is None:
        return
    root = sm.lineage()[-1]
    if root.base is None or not kbi.lacks_libgl(root.base.repository, root.base.tag):
        return
    libgl = kbi.libgl_packages()
    for st in sm.lineage():
        for step in st.runs():
            for a in step.apt:
                if any(p.name.lower() in libgl for p in a.packages):
                    return
            for cmd in step.commands:  # conda/mamba install of OpenCV or mesa brings libGL
                if cmd.name in ("conda", "mamba", "micromamba") and any(
                        re.match(r"^(opencv|libopencv|py-opencv|mesa-libgl|libglvnd)",
                                 w.value or "") for w in cmd.argv[2:]):
                    return
    text = df.source.text
    image = f"{root.base.repository}:{root.base.tag}"
    for step in sm.all_runs():
        if step.instruction.swallowed:
            continue
        for pip in step.pip:
            for ref in pip.packages:
                headless = kbi.opencv_headless(ref.name)
                if headless is None or _old_opencv(ref.version):
                    continue
                yield Violation(
                    ref.span,
                    f"`{ref.name}` is OpenCV's GUI build and needs libGL.so.1, which "
                    f"`{image}` does not have: `import cv2` fails with \"ImportError: libGL.so.1: "
                    f"cannot open shared object file\"; install `{headless}` (same API, no GUI "
                    f"windows)",
                    fix=_opencv_fix(text, ref, headless))


def _old_opencv(version: str | None) -> bool:
    """Wheels before 4.2 are not judged (their system-library needs differed)."""
    m = re.match(r"^(\d+)\.(\d+)", version or "")
    return bool(m) and (int(m.group(1)), int(m.group(2))) < (4, 2)


def _opencv_fix(text: str, ref, headless: str) -> Fix | None:
    src = text[ref.span.start:ref.span.end]
    m = re.search(r"opencv[-_.]+(contrib[-_.]+)?python(?![-_.\w])", src, re.I)
    if not m:
        return None
    s = ref.span.start + m.start()
    return Fix(edits=(Edit(s, ref.span.start + m.end(), headless),), applicability="safe",
               title=f"Use {headless}")


# =============================================================================== MLD710
_NGC = {"nvcr.io/nvidia/pytorch": "torch", "nvcr.io/nvidia/tensorflow": "tensorflow"}


@rule("MLD710")
def ngc_framework_reinstalled(df, model, ctx) -> Iterator[Violation]:
    """A pip install replaces the framework of an NGC image."""
    for sm in model.stages:
        root = sm.lineage()[-1]
        if root.base is None or root.base.repository not in _NGC:
            continue
        fw = _NGC[root.base.repository]
        img = kb.cuda_image(root.base.repository, root.base.tag)
        image = f"{root.base.repository}:{root.base.tag}"
        have = ""
        if img is not None and img.framework:
            have = f" {img.framework[1]}" + ("" if img.verified else " (per an unverified table row)")
        own = {"torch", "torchvision", "torchaudio"} if fw == "torch" else \
            {"tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly"}
        pinning = kbi.pins_torch() - own if fw == "torch" else frozenset()
        for step in sm.runs():
            if step.instruction.swallowed:
                continue
            for pip in step.pip:
                env = dict(step.env)
                env.update(pip.command.assignments)
                if pip.no_deps or pip.constraint_files or env.get("PIP_CONSTRAINT"):
                    continue
                forced = pip.upgrade or "--force-reinstall" in pip.options or \
                    kb.torch_index(pip.index_url) is not None
                bad = [r for r in pip.packages
                       if (r.name in own and (r.version or r.url or r.specifier or forced))
                       or r.name in pinning]
                if not bad:
                    continue
                names = ", ".join(f"`{r.raw}`" for r in bad)
                yield Violation(
                    bad[0].span,
                    f"`{image}` ships NVIDIA's build of {fw}{have}, tuned for the image's CUDA, "
                    f"cuDNN and NCCL; installing {names} here makes pip replace it with a PyPI "
                    f"build (a second CUDA stack of 2-5 GB, without NVIDIA's patches); use "
                    f"`pip install --no-deps` for packages that must not touch {fw}, or "
                    f"`-c /etc/pip/constraint.txt` (NGC images from 25.03)")


# =============================================================================== MLD711
_ARCH_LIST_EXTS = frozenset({"apex", "mmcv-full", "pytorch3d", "detectron2", "torch-scatter",
                             "torch-sparse", "torch-cluster", "torch-spline-conv", "xformers",
                             "deepspeed"})
_TOOLCHAIN_RE = re.compile(r"(cuda-nvcc|cuda-toolkit|cudatoolkit-dev|cuda-compiler|"
                           r"nvidia-cuda-nvcc|cuda-minimal-build)")


def _ext_builds(step) -> list[tuple[str, Span, bool]]:
    """CUDA extension builds of a RUN: ``(what, span, uses TORCH_CUDA_ARCH_LIST)``."""
    out = []
    env = dict(step.env)
    cloned = []
    for cmd in step.commands:
        vals = [w.value or "" for w in cmd.argv[1:]]
        if cmd.name == "git" and vals[:1] == ["clone"]:
            for v in vals[1:]:
                if "/" in v and not v.startswith("-"):
                    name = _git_repo_name(v)
                    if name:
                        cloned.append(name)
                    break
    for cmd in step.commands:
        vals = [w.value or "" for w in cmd.argv[1:]]
        if cmd.name == "nvcc" and not any(v in ("--version", "-V", "--help", "-h") for v in vals):
            out.append(("`nvcc`", cmd.argv[0].span, False))
        if _is_python(cmd.name) and any(v.endswith("setup.py") for v in vals) and \
                any(v in ("install", "build_ext", "develop", "bdist_wheel") for v in vals):
            known = [c for c in cloned if c in _ARCH_LIST_EXTS]
            if known:
                out.append((f"{known[0]} (setup.py)", cmd.argv[0].span, True))
    for pip in step.pip:
        penv = dict(env)
        penv.update(pip.command.assignments)
        if any(o.startswith(("-f", "--find-links")) for o in pip.options):
            continue  # prebuilt wheels from a find-links page (PyG, mmcv)
        for ref in pip.packages:
            name = ref.name
            if ref.url and not ref.url.endswith(".whl"):
                name = _git_repo_name(ref.url) or name
            if name not in _ARCH_LIST_EXTS:
                continue
            if name == "xformers" and not ref.url:
                continue  # PyPI wheels
            if name == "deepspeed" and not any(k.startswith("DS_BUILD_") and v not in ("0", None)
                                               for k, v in penv.items()):
                continue  # ops are built at run time (JIT)
            out.append((f"`{name}`", ref.span, True))
        for loc in pip.local:
            if re.match(r"^(git\+|https?://)", loc) and not loc.endswith(".whl"):
                name = _git_repo_name(loc)
                if name in _ARCH_LIST_EXTS and name != "deepspeed":
                    w = next((w for w in pip.command.argv if w.value == loc), pip.install_word)
                    out.append((f"`{name}`", w.span, True))
        if pip.local:
            known = [c for c in cloned if c in _ARCH_LIST_EXTS]
            if known:
                out.append((f"{known[0]} (from its source)", pip.install_word.span, True))
    return out


@rule("MLD711")
def cuda_extension_build_config(df, model, ctx) -> Iterator[Violation]:
    """CUDA extensions built without an arch list, or on an image without nvcc."""
    for sm in model.stages:
        cuda = sm.cuda
        lineage = sm.lineage()
        toolchain = any(_TOOLCHAIN_RE.search(getattr(s.script, "text", "") or "")
                        for st in lineage for s in st.runs())
        flavor = cuda.flavor if cuda is not None else None
        ngc = cuda is not None and cuda.source.startswith("NGC")
        has_nvcc = toolchain or ngc or (flavor or "").endswith("devel")
        no_nvcc = (flavor or "").endswith(("runtime", "base")) and not toolchain
        image = cuda.source if cuda is not None else None
        for step in sm.runs():
            ins = step.instruction
            if ins.swallowed:
                continue
            builds = _ext_builds(step)
            if not builds:
                continue
            script_text = getattr(step.script, "text", "") or ""
            arch_set = step.env.get("TORCH_CUDA_ARCH_LIST") or "TORCH_CUDA_ARCH_LIST" in script_text
            if no_nvcc:
                what = ", ".join(b[0] for b in builds)
                yield Violation(
                    builds[0][1],
                    f"{what} compiles CUDA code, but `{image}` is a -{flavor.split('-')[-1]} "
                    f"image without nvcc or CUDA headers: the build fails (or silently "
                    f"builds without CUDA); build in a stage on the matching -devel image "
                    f"and copy the result")
                continue
            arch = [b for b in builds if b[2]]
            if has_nvcc and arch and not arch_set:
                what = ", ".join(b[0] for b in arch)
                yield Violation(
                    arch[0][1],
                    f"{what} compile{'s' if len(arch) == 1 else ''} CUDA kernels with "
                    f"torch.utils.cpp_extension, but TORCH_CUDA_ARCH_LIST is not set: "
                    f"`docker build` has no GPU to detect, so the architectures compiled are a "
                    f"guess that may miss the deployment GPUs (\"no kernel image is available\") "
                    f"or bloat the build; set e.g. `ENV TORCH_CUDA_ARCH_LIST=\"8.0;8.6;9.0\"` "
                    f"before this RUN")


# =============================================================================== MLD712
_TF_TAG = re.compile(r"^(?P<v>\d+\.\d+\.\d+)(?P<gpu>-gpu)?(?:-jupyter)?$")


@rule("MLD712")
def tensorflow_base_mismatch(df, model, ctx) -> Iterator[Violation]:
    """TensorFlow reinstalled over a TensorFlow image, or built for another CUDA than the base."""
    for sm in model.stages:
        root = sm.lineage()[-1]
        if root.base is None:
            continue
        repo, tag = root.base.repository, root.base.tag or ""
        m = _TF_TAG.match(tag) if repo == "tensorflow/tensorflow" else None
        cuda = sm.cuda
        for step in sm.runs():
            if step.instruction.swallowed:
                continue
            for pip in step.pip:
                if pip.target or pip.prefix:
                    continue
                for ref in pip.packages:
                    if ref.name not in ("tensorflow", "tensorflow-gpu", "tensorflow-cpu"):
                        continue
                    if m is not None:
                        base_v = m.group("v")
                        gpu = bool(m.group("gpu"))
                        if ref.name == "tensorflow-cpu" and gpu:
                            why = "installs the CPU-only build over the image's GPU build"
                        elif ref.version and kb.public_version(ref.version) != base_v:
                            why = f"replaces the image's TensorFlow {base_v} with {ref.version}"
                        elif pip.upgrade and not ref.version:
                            why = f"upgrades the image's TensorFlow {base_v} to the newest release"
                        else:
                            continue
                        extra = (" (the CUDA libraries of the image were chosen for "
                                 f"{base_v}: the new version may not find them)") if gpu else ""
                        yield Violation(
                            ref.span,
                            f"`pip install {ref.raw}` on `{repo}:{tag}` {why}: a second "
                            f"TensorFlow (~600 MB) in the image{extra}; use the image tag of the "
                            f"version you need (`{repo}:<version>{'-gpu' if gpu else ''}`) "
                            f"or drop this install")
                    elif cuda is not None and cuda.version and cuda.framework is None and \
                            ref.version and ref.name != "tensorflow-cpu" and \
                            "and-cuda" not in ref.extras:
                        tested = kb.tf_tested_cuda(kb.public_version(ref.version))
                        if not tested or tested.split(".")[0] == cuda.version.split(".")[0]:
                            continue
                        yield Violation(
                            ref.span,
                            f"TensorFlow {ref.version} is built and tested against CUDA {tested}, "
                            f"but `{cuda.source}` provides CUDA {cuda.version}: TensorFlow does "
                            f"not find the CUDA {tested.split('.')[0]} libraries and silently runs "
                            f"on the CPU; use a CUDA {tested} base, or `tensorflow[and-cuda]` "
                            f"which brings its own CUDA libraries")


# =============================================================================== MLD714
_PY_IN_PATH = re.compile(r"(?:^|/)python(\d+\.\d+)(?:/|$)")


def _python_version(sm) -> str | None:
    """The Python version of a stage's interpreter, when the base tag or a system package
    fixes it; ``None`` when unknown or when the lineage installs another interpreter."""
    lineage = sm.lineage()
    root = lineage[-1]
    for st in lineage:
        for step in st.runs():
            t = getattr(step.script, "text", "") or ""
            if re.search(r"\b(uv\s+python\s+install|pyenv\s+install|conda\s+(create|install)|"
                         r"mamba\s+(create|install)|micromamba\s+(create|install)|"
                         r"python3\.\d+-venv|deadsnakes|python=3|get-pip)", t):
                return None
            for a in step.apt:
                if any(re.fullmatch(r"python3\.\d+", p.name) for p in a.packages):
                    return None
    if root.base is None:
        return None
    if root.base.repository == "python":
        mm = re.match(r"^(\d+)\.(\d+)(?:\.\d+)?(?:[a-z]+\d*)?(?:-|$)", root.base.tag or "")
        return f"{mm.group(1)}.{mm.group(2)}" if mm else None
    return None


def _env_source_version(cp, path: str, builder_ver: str | None) -> str | None:
    m = _PY_IN_PATH.search(path)
    if m:
        return m.group(1)
    if re.search(r"(^|/)bin(/|$)", path):
        return None  # console scripts only
    if re.search(r"(site-packages|dist-packages|venv|/\.local(/|$)|/opt/conda/envs)", path):
        return builder_ver
    return None


@rule("MLD714")
def python_version_mismatch_across_stages(df, model, ctx) -> Iterator[Violation]:
    """site-packages copied between stages with different Python versions."""
    for pos, sm in enumerate(model.stages):
        dst_stage_ver = None
        computed = False
        for cp in sm.copies:
            if cp.from_stage is None or cp.instruction.swallowed:
                continue
            if not computed:
                dst_stage_ver = _python_version(sm)
                computed = True
            builder_ver = _python_version(cp.from_stage)
            dm = _PY_IN_PATH.search(cp.dest)
            dst_vers = [v for v in (dst_stage_ver, dm.group(1) if dm else None) if v]
            if not dst_vers:
                continue
            args = [a for a in cp.instruction.args if not a.value.startswith("<<")]
            for k, src in enumerate(cp.sources):
                src_ver = _env_source_version(cp, src, builder_ver)
                dst_ver = next((v for v in dst_vers if v != src_ver), None)
                if src_ver is None or dst_ver is None:
                    continue
                span = args[k].span if k < len(args) else cp.instruction.keyword_span
                yield Violation(
                    span,
                    f"`{src}` holds packages for Python {src_ver} (stage "
                    f"`{cp.from_ref}`), but they are copied into an image whose Python is "
                    f"{dst_ver}: that interpreter does not look there or cannot load their "
                    f"compiled extensions (cpython-{src_ver.replace('.', '')}), so imports "
                    f"fail; use the same Python version in both stages")
