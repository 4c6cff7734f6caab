"""Rules: catalogue parity with hadolint / BuildKit checks (layer hygiene, security hygiene,
runtime hygiene): MLD403, MLD406-MLD410, MLD503-MLD509, MLD604-MLD607."""

from __future__ import annotations

import posixpath
import re
from typing import Iterator

from ..fixer import Edit, Fix
from ..model.expand import expand
from ..parser.nodes import Span
from ..parser.shell import SHELLS, has_flag
from ..model import entrypoint_commands
from ..model.commands import argv_text, program_name, python_target
from .base import Violation, rule

# ------------------------------------------------------------------------------ shared helpers


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _live(ins) -> bool:
    return not ins.swallowed


def _abs_path(path: str, workdir: str | None) -> str | None:
    """``path`` made absolute against ``workdir`` and normalised; ``None`` when it cannot be."""
    if not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path)
    if re.match(r"^[A-Za-z]:[\\/]", path):
        return None
    if not workdir or not workdir.startswith("/"):
        return None
    return posixpath.normpath(posixpath.join(workdir, path))


def _within(path: str, folder: str) -> bool:
    """``path`` equals ``folder`` or lies inside it (both absolute and normalised)."""
    if folder == "/":
        return True
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def span_of_words(words) -> Span:
    return Span(words[0].span.start, words[-1].span.end)


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _stage_steps(sm):
    """Steps of a stage that are not swallowed string content."""
    return [s for s in sm.steps if _live(s.instruction)]


def _copy_of(sm, step):
    return sm.copy_of(step.instruction)


_URL_RE = re.compile(r"^(?:https?|ftp)://", re.I)
_GIT_RE = re.compile(r"^(?:git@|git://|ssh://)|\.git(?:[#?@].*)?$|^https?://[^#]+\.git#", re.I)


# ===================================================================== MLD403 consecutive-run
#: builtins that change the shell state later commands of the same shell would see
_STATEFUL = frozenset({"cd", "pushd", "popd", "export", "set", "source", ".", "umask", "ulimit",
                       "shopt", "unset", "alias", "exec", "exit", "trap", "eval", "declare",
                       "typeset", "readonly", "local"})


def _single_command(step) -> object | None:
    """The one simple command a shell-form RUN consists of (nothing else in its text), else
    ``None``."""
    ins = step.instruction
    script = step.script
    if ins.is_json or ins.heredocs or script is None or script.has_error:
        return None
    cmds = list(script.commands)
    if len(cmds) != 1 or script.pipelines or cmds[0].wrappers and any(
            w.endswith((" -c", " <<")) for w in cmds[0].wrappers):
        return None
    rest = ins.effective_rest
    text = rest.value.strip()
    if not text:
        return None
    lead = len(rest.value) - len(rest.value.lstrip())
    span = rest.span(lead, lead + len(text))
    c = cmds[0]
    if c.span.start != span.start or c.span.end != span.end:
        return None  # a compound command, a comment, a background job...
    return c


def _merge_fix(df, group) -> Fix | None:
    """Merge the RUNs of ``group`` (steps) into the first one with `` && \\``."""
    text = df.source.text
    esc = df.escape
    edits = []
    for prev, nxt in zip(group, group[1:]):
        p_ins, n_ins = prev.instruction, nxt.instruction
        if "#" in p_ins.effective_rest.value or p_ins.trailing_comment is not None:
            return None
        prev_cmd = _single_command(prev)
        if prev_cmd is None or prev_cmd.name in _STATEFUL:
            return None
        if n_ins.comments and any(c.line < n_ins.start_line for c in n_ins.comments):
            return None
        if n_ins.start_line != p_ins.end_line + 1:
            return None
        rest = n_ins.effective_rest
        lead = len(rest.value) - len(rest.value.lstrip())
        start_next = rest.map.to_source(lead)
        p_rest = p_ins.effective_rest
        end_prev = p_rest.span(0, len(p_rest.value.rstrip())).end
        if text[end_prev:p_ins.span.end].strip():
            return None
        edits.append(Edit(end_prev, start_next, f" && {esc}\n    "))
    if not edits:
        return None
    return Fix(edits=tuple(edits), applicability="unsafe",
               title=f"Merge the {len(group)} RUN instructions into one")


@rule("MLD403")
def consecutive_run(df, model, ctx) -> Iterator[Violation]:
    """Consecutive single-command RUNs with the same flags that could be one layer."""
    for sm in model.stages:
        group: list = []
        groups: list[list] = []
        prev_key = None
        for step in sm.steps:
            ins = step.instruction
            key = None
            if ins.keyword == "RUN" and _live(ins) and _single_command(step) is not None:
                key = tuple(sorted(f.raw for f in ins.flags))
            if key is not None and group and key == prev_key:
                group.append(step)
            else:
                if len(group) > 1:
                    groups.append(group)
                group = [step] if key is not None else []
            prev_key = key
        if len(group) > 1:
            groups.append(group)
        for g in groups:
            first, second = g[0].instruction, g[1].instruction
            lines = ", ".join(str(s.instruction.start_line) for s in g)
            yield Violation(
                second.keyword_span,
                f"{len(g)} consecutive RUN instructions (lines {lines}) each run one command "
                f"and create one layer each; chain them in one RUN with && (starting at line "
                f"{first.start_line}) to save {len(g) - 1} layer(s)",
                fix=_merge_fix(df, g))


# ================================================================== MLD406 add-instead-of-copy
_ARCHIVE_RE = re.compile(r"\.(tar|tgz|tbz2?|txz|tzst|tar\.(gz|bz2|xz|zst|lz4)|gz|bz2|xz|zst)$",
                         re.I)
_ADD_ONLY_FLAGS = frozenset({"checksum", "keep-git-dir", "unpack"})
#: commands that verify a downloaded file
_VERIFIERS = re.compile(r"^(sha(1|224|256|384|512)sum|md5sum|b2sum|shasum|gpg|gpgv|cosign|"
                        r"minisign|signify)$")


def _verified_later(sm, step, dest: str, url: str) -> bool:
    """A later RUN of the stage checks the downloaded file (sha256sum, gpg --verify)."""
    names = {n for n in (_basename(dest), _basename(url.split("?")[0])) if n and n != "."}
    seen = False
    for s in sm.steps:
        if s is step:
            seen = True
            continue
        if not seen or s.instruction.keyword != "RUN":
            continue
        for c in s.commands:
            if c.name and _VERIFIERS.match(c.name):
                text = " ".join(w.text for w in c.argv)
                if not names or any(n in text for n in names) or has_flag(c.argv[1:], "c",
                                                                          "check"):
                    return True
    return False


@rule("MLD406")
def add_instead_of_copy(df, model, ctx) -> Iterator[Violation]:
    """ADD of a local non-archive (error, fix: COPY) or of a URL without --checksum
    (warning)."""
    for sm in model.stages:
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword != "ADD" or not _live(ins) or ins.heredocs or not ins.args:
                continue
            cp = _copy_of(sm, step)
            if cp is None or cp.from_ref is not None:
                continue
            srcs = list(zip(ins.args[:-1], cp.sources)) if len(ins.args) >= 2 else []
            if not srcs:
                continue
            urls, local, archives, unknown = [], [], [], []
            for arg, src in srcs:
                raw = arg.value
                if "$" in raw and not src:
                    unknown.append(arg)
                elif _URL_RE.match(src):
                    if _GIT_RE.search(src):
                        unknown.append(arg)
                    else:
                        urls.append((arg, src))
                elif _GIT_RE.search(src):
                    unknown.append(arg)
                elif "$" in raw and not expand(raw, step.env)[1]:
                    unknown.append(arg)
                elif _ARCHIVE_RE.search(src.rstrip("/")) or "*" in src and re.search(
                        r"\.(tar|tgz|gz|xz|bz2|zst)\*?$", src):
                    archives.append(arg)
                else:
                    local.append((arg, src))
            if local and not unknown:
                names = ", ".join(s for _, s in local[:3]) + (" ..." if len(local) > 3 else "")
                fix = None
                if not urls and not archives and not any(
                        f.name.lower() in _ADD_ONLY_FLAGS for f in ins.flags):
                    fix = Fix(edits=(Edit(ins.keyword_span.start, ins.keyword_span.end,
                                          "COPY" if ins.keyword_text.isupper() else "copy"),),
                              applicability="safe", title="Use COPY")
                yield Violation(
                    ins.keyword_span,
                    f"ADD of {names}, which is not an archive to extract: ADD also fetches URLs "
                    "and unpacks tar files, so it hides what the step does; use COPY for local "
                    "files and folders",
                    fix=fix)
            if urls and ins.flag("checksum") is None:
                for arg, url in urls:
                    if _verified_later(sm, step, cp.dest, url):
                        continue
                    fix = Fix(edits=(Edit(ins.keyword_span.end, ins.keyword_span.end,
                                          " --checksum=sha256:<sha256 of the file>"),),
                              applicability="suggest",
                              title="Pin the download with --checksum (fill in the digest)")
                    yield Violation(
                        arg.span,
                        f"ADD downloads {url} without --checksum: the build silently takes "
                        "whatever the server returns (a changed or compromised file); add "
                        "--checksum=sha256:<digest> (dockerfile syntax 1.6+) or download with "
                        "curl in a RUN and verify with sha256sum",
                        severity="warning", fix=fix)


# ============================================================== MLD407 model-weights-in-context
_WEIGHT_EXT = re.compile(r"\.(safetensors|pt|pth|ckpt|onnx|gguf|ggml|h5|keras|tflite|"
                         r"pdparams|msgpack)$", re.I)
_WEIGHT_BIN = re.compile(r"(model|weight|pytorch|adapter|ckpt|checkpoint|lora|diffusion)"
                         r"[\w.-]*\.bin$", re.I)
_STRONG_DIRS = frozenset({"checkpoints", "checkpoint", "weights", "ckpt", "ckpts"})
_MODEL_DIRS = frozenset({"models", "model", "pretrained", "pretrained_models", "hf_models",
                         "model_weights", "saved_model", "saved_models"})
_ML_PACKAGES = frozenset({"torch", "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "jax",
                          "jaxlib", "transformers", "onnxruntime", "onnxruntime-gpu",
                          "sentence-transformers", "diffusers", "vllm", "keras", "tf-keras",
                          "accelerate", "torchvision", "ultralytics", "timm", "xgboost",
                          "lightgbm", "catboost", "scikit-learn", "spacy", "llama-cpp-python",
                          "tensorrt", "paddlepaddle", "mxnet", "openvino", "optimum"})
_ML_REQ_RE = re.compile(r"^\s*(torch|tensorflow[\w-]*|jax|transformers|onnxruntime[\w-]*|"
                        r"sentence[-_]transformers|diffusers|vllm|keras|ultralytics|timm|"
                        r"xgboost|lightgbm|scikit[-_]learn|spacy|optimum)\b", re.I | re.M)


def _ml_image(sm, ctx) -> bool:
    """Signals that the image runs ML code: an ML framework or GPU signal, a known ML package
    installed, or a requirements file in the context that lists one."""
    try:
        if sm.frameworks() or sm.gpu_signals():
            return True
    except Exception:  # noqa: BLE001 - the ML model is optional here
        pass
    facts = sm.facts
    if facts is not None and getattr(facts, "family", None) in ("cuda", "pytorch", "tensorflow",
                                                                 "ngc"):
        return True
    for st in sm.lineage():
        for step in st.runs():
            for p in step.pip:
                if any(pk.name in _ML_PACKAGES for pk in p.packages):
                    return True
                for req in p.requirement_files:
                    body = ctx.read_context_file(req.removeprefix("./")) if ctx.context_dir else None
                    if body and _ML_REQ_RE.search(body):
                        return True
    return False


def _weights_source(src: str, sm, ctx) -> str | None:
    """Why a COPY source is model weights (a description), or ``None``."""
    base = _basename(src)
    if not base or base in (".", "..") or "$" in src:
        return None
    if _WEIGHT_EXT.search(base) or _WEIGHT_BIN.search(base):
        return base
    if "." in base and not base.startswith("."):
        return None
    low = base.lower()
    if low in _STRONG_DIRS:
        return src
    if low in _MODEL_DIRS:
        rel = src.removeprefix("./").rstrip("/")
        if ctx.context_dir and (ctx.context_exists(rel + "/__init__.py")
                                or ctx.context_exists(rel + "/index.js")):
            return None  # a code package called models
        if _ml_image(sm, ctx):
            return src
    return None


def _context_sources(model):
    """``(stage, step, instruction, copy, argument, source)`` for each source a live COPY/ADD
    takes from the build context (not ``--from``, not a URL, not a heredoc), in order."""
    for sm in model.stages:
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword not in ("COPY", "ADD") or not _live(ins) or ins.heredocs:
                continue
            cp = _copy_of(sm, step)
            if cp is None or cp.from_ref is not None or len(ins.args) < 2:
                continue
            for arg, src in zip(ins.args[:-1], cp.sources):
                if not _URL_RE.match(src):
                    yield sm, step, ins, cp, arg, src


@rule("MLD407")
def model_weights_in_context(df, model, ctx) -> Iterator[Violation]:
    """COPY of model weight files or folders from the build context (one finding per
    instruction: its first such source)."""
    reported: set[int] = set()
    for sm, _step, ins, _cp, arg, src in _context_sources(model):
        if id(ins) in reported:
            continue
        what = _weights_source(src, sm, ctx)
        if what is None:
            continue
        reported.add(id(ins))
        yield Violation(
            arg.span,
            f"{ins.keyword} of model weights ({what}) bakes them into an image layer: "
            "every model update rebuilds and re-pushes that layer (often GBs) and the "
            "build context carries them on every build; mount them at run time (a "
            "volume), download them in a separate stage, or use RUN "
            "--mount=type=bind for build-time use")


# ============================================================ MLD408 chown-in-separate-layer
_CHOWN_VALUE_OPTS = frozenset({"--reference", "--from"})
_KNOWN_USERS = frozenset({"root", "0", "nobody", "www-data", "daemon", "bin", "sys"})


def _recursive_owner_change(cmd) -> tuple[str, str, list] | None:
    """``(kind, owner_or_mode, path words)`` for ``chown -R OWNER PATH...`` /
    ``chmod -R MODE PATH...``; ``None`` otherwise."""
    if cmd.name not in ("chown", "chmod"):
        return None
    args = cmd.argv[1:]
    opts, rest = [], []
    skip = False
    for w in args:
        v = w.value or ""
        if skip:
            skip = False
            opts.append(w)
        elif v.startswith("-") and not re.match(r"^-[rwxXst]+$", v):
            opts.append(w)
            skip = v in _CHOWN_VALUE_OPTS
        else:
            rest.append(w)
    if not has_flag(opts, "R", "recursive"):
        return None
    if len(rest) < 2 or any(w.value is None for w in rest[:1]):
        return None
    return cmd.name, rest[0].value, rest[1:]


def _user_created_before(sm, owner: str, upto) -> bool:
    """Whether COPY --chown=OWNER would resolve at a step before ``upto``: numeric owner, a
    well-known system user, or created by useradd/adduser/groupadd in an earlier RUN."""
    user = owner.split(":", 1)[0]
    group = owner.split(":", 1)[1] if ":" in owner else ""
    names = {n for n in (user, group) if n and not n.isdecimal() and n not in _KNOWN_USERS}
    if not names:
        return True
    made = set()
    for st in reversed(sm.lineage()):
        for s in st.steps:
            if s is upto:
                return names <= made
            for c in s.commands:
                if c.name in ("useradd", "adduser", "groupadd", "addgroup"):
                    vals = [w.value for w in c.argv[1:] if w.value]
                    if vals:
                        made.add(vals[-1])
    return False


def _chown_fix(df, sm, step, cmd, kind: str, owner: str, copies) -> Fix | None:
    """Remove the RUN and add ``--chown=OWNER`` to the COPY/ADD steps it re-owns."""
    if kind != "chown" or "$" in owner:
        return None
    if _single_command(step) is not cmd:
        return None
    ins = step.instruction
    if ins.comments and any(c.line < ins.start_line for c in ins.comments):
        return None
    if any(cs.instruction.flag("chown") is not None for cs, _ in copies):
        return None
    if not _user_created_before(sm, owner, copies[0][0]):
        return None
    # nothing but COPY/ADD between the first copy and the RUN (a RUN in between may create
    # files the chown also fixes)
    seen = False
    for s in sm.steps:
        if s is copies[0][0]:
            seen = True
        elif s is step:
            break
        elif seen and s.instruction.keyword not in ("COPY", "ADD", "ENV", "ARG", "LABEL",
                                                   "EXPOSE"):
            return None
    text = df.source.text
    start = _line_start(text, ins.span.start)
    end = ins.span.end
    if text[start:ins.span.start].strip():
        return None
    if end < len(text) and text[end] == "\n":
        end += 1
    elif text.startswith("\r\n", end):
        end += 2
    edits = [Edit(start, end, "")]
    for cs, _ in copies:
        kw = cs.instruction.keyword_span
        edits.append(Edit(kw.end, kw.end, f" --chown={owner}"))
    return Fix(edits=tuple(sorted(edits, key=lambda e: e.start)), applicability="unsafe",
               title=f"Use COPY --chown={owner} instead of a chown layer")


@rule("MLD408")
def chown_in_separate_layer(df, model, ctx) -> Iterator[Violation]:
    """RUN chown -R / chmod -R on paths COPY'd earlier in the stage."""
    for sm in model.stages:
        copied: list[tuple[object, str]] = []  # (copy step, absolute destination)
        for step in sm.steps:
            ins = step.instruction
            if not _live(ins):
                continue
            if ins.keyword in ("COPY", "ADD"):
                cp = _copy_of(sm, step)
                if cp is None or not cp.dest or "$" in cp.dest and not expand(cp.dest, step.env)[1]:
                    continue
                dest = _abs_path(cp.dest, step.workdir)
                if dest is not None:
                    copied.append((step, dest))
                continue
            if ins.keyword != "RUN" or not copied:
                continue
            for cmd in step.commands:
                found = _recursive_owner_change(cmd)
                if found is None:
                    continue
                kind, what, paths = found
                hits = []
                for w in paths:
                    if w.value is None:
                        continue
                    p = _abs_path(w.value.rstrip("/") or "/", step.workdir)
                    if p is None or p == "/":
                        continue
                    hits.extend((cs, d) for cs, d in copied if _within(d, p)
                                and (cs, d) not in hits)
                if not hits:
                    continue
                if kind == "chown" and all(
                        (cs.instruction.flag("chown") is not None
                         and (cs.instruction.flag("chown").value or "") == what)
                        for cs, _ in hits):
                    continue
                lines = ", ".join(str(cs.instruction.start_line) for cs, _ in hits[:4])
                dests = ", ".join(sorted({d for _, d in hits})[:3])
                flag = "--chown" if kind == "chown" else "--chmod"
                yield Violation(
                    Span(cmd.argv[0].span.start, cmd.argv[-1].span.end),
                    f"{kind} -R {what} rewrites what COPY/ADD put in {dests} (line {lines}) into "
                    f"a new layer, so the image stores those files twice; set the owner/mode "
                    f"while copying: COPY {flag}={what} ...",
                    fix=_chown_fix(df, sm, step, cmd, kind, what, hits))
                break


# ============================================================ MLD409 cache-mount-suggestion
_HEAVY = frozenset({"torch", "tensorflow", "tensorflow-gpu", "tf-nightly", "jax", "jaxlib",
                    "vllm", "paddlepaddle-gpu", "mxnet-cu112"})


def _uses_buildkit(df) -> bool:
    if df.directive("syntax") is not None:
        return True
    return any(f.name.lower() == "mount" for i in df.instructions if i.keyword == "RUN"
               for f in i.flags)


@rule("MLD409")
def cache_mount_suggestion(df, model, ctx) -> Iterator[Violation]:
    """Heavy installs without a BuildKit cache mount in a file that already uses BuildKit."""
    if not _uses_buildkit(df):
        return
    for sm in model.stages:
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            for p in step.pip:
                heavy = [pk for pk in p.packages if pk.name in _HEAVY]
                if not heavy:
                    continue
                target = "/root/.cache/uv" if p.kind == "uv" else "/root/.cache/pip"
                if step.has_cache_mount(target) or any(
                        m.type == "cache" for m in step.mounts):
                    continue
                pk = heavy[0]
                yield Violation(
                    pk.span,
                    f"{pk.name} is a download of hundreds of MB to GBs; with "
                    f"RUN --mount=type=cache,target={target} rebuilds reuse the downloaded "
                    "wheels instead of fetching them again (the cache stays out of the image)")
            for c in step.commands:
                if c.name not in ("conda", "mamba", "micromamba"):
                    continue
                vals = [w.value or "" for w in c.argv[1:]]
                verb = next((v for v in vals if not v.startswith("-")), None)
                if verb not in ("install", "create", "env", "update"):
                    continue
                if verb == "env" and not any(v in ("create", "update") for v in vals[1:3]):
                    continue
                if step.has_cache_mount("/opt/conda/pkgs") or any(
                        m.type == "cache" for m in step.mounts):
                    continue
                yield Violation(
                    span_of_words(c.argv[:2]),
                    f"{c.name} {verb} downloads packages on every rebuild; "
                    "RUN --mount=type=cache,target=/opt/conda/pkgs keeps them between builds "
                    "(outside the image)")


# ========================================================= MLD410 build-tools-in-final-stage
_BUILD_PKGS = frozenset({"build-essential", "gcc", "g++", "clang", "cmake", "make", "gfortran",
                         "build-base", "gcc-c++", "autoconf", "automake", "libtool",
                         "ninja-build", "cpp"})
_DEV_SUFFIX = re.compile(r"^[a-z0-9][\w.+]*-(dev|devel)(:[\w-]+)?$")
_DEV_EXCEPT = frozenset({"linux-libc-dev"})
_CMD_BUILD_TOOLS = frozenset({"gcc", "g++", "cc", "clang", "make", "cmake", "ninja", "cargo",
                              "go", "mvn", "gradle", "bazel", "bazelisk", "meson", "rustc",
                              "gitlab-runner", "jenkins-agent", "jenkins-slave", "run.sh",
                              "actions-runner", "buildkite-agent", "code-server", "sleep",
                              "tail", "jupyter", "jupyter-lab", "jupyterhub", "bash", "sh",
                              "zsh", "ash", "fish", "start-notebook.sh", "sshd", "tini",
                              "dumb-init", "supervisord"})
_REMOVERS = ("purge", "remove", "autoremove", "del", "erase")


def _pkg_base(name: str) -> str:
    return name.split("=", 1)[0].split(":", 1)[0]


def _marks_all_auto(step) -> bool:
    """The RUN marks packages as automatically installed (``apt-mark auto '.*'`` or
    ``apt-mark auto PKG...``): the official-image idiom before ``apt-get purge
    --auto-remove``, which then removes every build dependency installed since."""
    for c in step.commands:
        vals = [w.value for w in c.argv]
        for i, v in enumerate(vals[:-1]):
            if v and _basename(v) == "apt-mark" and vals[i + 1] == "auto":
                return True  # also `apt-mark showmanual | xargs apt-mark auto`
    return False


def _removed_later(sm, pkg: str, virtual: str | None, from_step, from_cmd) -> bool:
    """Whether a later command (same RUN or later) purges/removes the package (or the apk
    virtual group it was installed under)."""
    started = False
    for st in reversed(sm.lineage()):
        for s in st.runs():
            for c in s.commands:
                if c is from_cmd:
                    started = True
                    continue
                if not started:
                    continue
                if c.name not in ("apt-get", "apt", "apk", "yum", "dnf", "microdnf"):
                    continue
                vals = [w.value or "" for w in c.argv[1:]]
                if c.name in ("apt-get", "apt") and ("autoremove" in vals or "--auto-remove" in
                                                     vals) and _marks_all_auto(s):
                    return True  # apt-mark auto '.*' ... apt-get purge --auto-remove
                if not any(v in _REMOVERS for v in vals):
                    continue
                names = {_pkg_base(v) for v in vals if not v.startswith("-")}
                if pkg in names or (virtual and virtual in names):
                    return True
                if any("$" in (w.raw or "") for w in c.argv[1:]):
                    return True  # apt-get purge $buildDeps
    return False


_REPL = re.compile(r"^(python[\d.]*|pypy[\d.]*|irb|node|php|ruby|perl|ghci|iex|erl|R|julia|"
                   r"lua[\d.]*|jshell|scala|clojure|pwsh|bash|sh)$")


def _bare_repl(sm) -> bool:
    """The image's command is a bare interpreter (``irb``, ``php -a``, ``python3``): a language
    toolbox or base image, where headers and compilers are part of the product."""
    from ..model import entrypoint_script

    for ins in (sm.cmd,):
        if ins is None:
            continue
        script = entrypoint_script(ins)
        cmds = list(script.commands) if script is not None else []
        if len(cmds) == 1 and cmds[0].name and _REPL.match(cmds[0].name) and all(
                (w.value or "").startswith("-") for w in cmds[0].argv[1:]):
            return True
    return False


def _dev_or_build_image(sm) -> bool:
    """Images meant for building or developing: no command of their own, or a command that is
    a shell, a compiler/build tool, a notebook, a CI agent or a keep-alive."""
    from ..model import entrypoint_script

    progs = []
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        script = entrypoint_script(ins)
        for c in (script.commands if script is not None else [])[:1]:
            progs.append(c.name or "")
    if not progs:
        return True
    if _bare_repl(sm):
        return True
    base = (sm.lineage()[-1].stage.base or "").lower()
    if "devcontainer" in base or "vscode" in base or "runner" in base:
        return True
    root = sm.root_base
    if root is not None and "devel" in (root.tag or "").lower():
        return True  # a CUDA -devel base ships the toolchain anyway (MLD204 judges it)
    return any(p in _CMD_BUILD_TOOLS or p.endswith(("-agent", "-runner")) for p in progs)


@rule("MLD410")
def build_tools_in_final_stage(df, model, ctx) -> Iterator[Violation]:
    """Compilers, build tools and -dev headers installed in the image that ships."""
    final = model.final
    if final is None or final.stage.from_ is None or _dev_or_build_image(final):
        return
    for sm in final.lineage():
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            for a in step.apt:
                virtual = None
                if a.tool == "apk":
                    vals = [w.value or "" for w in a.command.argv[1:]]
                    for i, v in enumerate(vals):
                        if v in ("-t", "--virtual") and i + 1 < len(vals):
                            virtual = vals[i + 1]
                        elif v.startswith("--virtual="):
                            virtual = v.split("=", 1)[1]
                found = []
                for pk in a.packages:
                    n = _pkg_base(pk.name)
                    if n in _BUILD_PKGS or (_DEV_SUFFIX.match(n) and n not in _DEV_EXCEPT):
                        if not _removed_later(final, n, virtual, step, a.command):
                            found.append(pk)
                if not found:
                    continue
                names = ", ".join(_pkg_base(p.name) for p in found[:6]) + (
                    " ..." if len(found) > 6 else "")
                yield Violation(
                    Span(found[0].span.start, found[0].span.end),
                    f"the final image keeps the build toolchain {names} (typically 100-300 MB "
                    "and a larger attack surface) after the steps that need it; build wheels or "
                    "binaries in a builder stage and COPY --from only the results, or purge "
                    "them in the same RUN")


# ================================================================== MLD503 secret-file-copied
_SECRET_BASENAMES = {
    ".env": "an .env file (API keys and passwords)",
    "id_rsa": "an SSH private key", "id_dsa": "an SSH private key",
    "id_ecdsa": "an SSH private key", "id_ed25519": "an SSH private key",
    ".netrc": "a .netrc file (login passwords)", "_netrc": "a .netrc file (login passwords)",
    "kaggle.json": "a Kaggle API key", "credentials.json": "a credentials file",
    ".pypirc": "a .pypirc file (PyPI upload credentials)",
    ".git-credentials": "git credentials",
    "application_default_credentials.json": "Google Cloud credentials",
    ".npmrc": "an .npmrc file (npm auth token)",
}
_SECRET_DIRS = {".aws": "AWS credentials", ".ssh": "SSH keys", ".kaggle": "a Kaggle API key",
                ".huggingface": "a Hugging Face token", ".docker": "Docker registry auth",
                ".gnupg": "GnuPG private keys"}
_SECRET_PATHS = {".huggingface/token": "a Hugging Face token",
                 ".cache/huggingface/token": "a Hugging Face token",
                 ".aws/credentials": "AWS credentials", ".docker/config.json":
                 "Docker registry auth", ".kaggle/kaggle.json": "a Kaggle API key"}
#: ``.env`` variants that hold a deployment's real values (``.env.docker``, ``.env.example``
#: and other suffixes are usually committed templates)
_ENV_REAL = re.compile(r"^\.env\.(local|prod|production|dev|development|staging|secrets?)$",
                       re.I)
_PEM_KEY = re.compile(r"(^|[\W_])(priv|private|key)([\W_]|$)", re.I)
_NPM_AUTH = re.compile(r"(_authToken|_auth|_password)\s*=\s*(?!\$\{)\S", re.I)


def _secret_kind(src: str, ctx) -> str | None:
    """What credential a COPY source is, or ``None``."""
    s = src.removeprefix("./").rstrip("/")
    base = _basename(s)
    if not base:
        return None
    for path, what in _SECRET_PATHS.items():
        if s == path or s.endswith("/" + path):
            return what
    if base in _SECRET_DIRS:
        return _SECRET_DIRS[base]
    if _ENV_REAL.match(base):
        return "an .env file (API keys and passwords)"
    if base in _SECRET_BASENAMES:
        if base == ".npmrc" and ctx.context_dir:
            body = ctx.read_context_file(s)
            if body is not None and not _NPM_AUTH.search(body):
                return None
        return _SECRET_BASENAMES[base]
    if base.endswith(".pem") and _PEM_KEY.search(base[:-4]) and "pub" not in base.lower():
        return "a private key (.pem)"
    return None


def _dockerignore_text(ctx) -> str | None:
    name = posixpath.basename((ctx.source.path or "Dockerfile").replace("\\", "/"))
    own = ctx.read_context_file(name + ".dockerignore")
    return own if own is not None else ctx.read_context_file(".dockerignore")


def _context_secrets(ctx) -> list[tuple[str, str]]:
    """Credential files that exist at the top of the build context and that .dockerignore does
    not exclude: ``(relative path, description)``."""
    if not ctx.context_dir:
        return []
    candidates = list(_SECRET_PATHS) + list(_SECRET_BASENAMES) + [".env.local",
                                                                  ".env.production"]
    present = []
    for rel in candidates:
        if not ctx.context_exists(rel):
            continue
        kind = _secret_kind(rel, ctx)
        if kind:
            present.append((rel, kind))
    for d, what in _SECRET_DIRS.items():
        if ctx.context_exists(d) and not any(p.startswith(d + "/") for p, _ in present):
            present.append((d, what))
    if not present:
        return []
    text = _dockerignore_text(ctx)
    if text is None:
        return present
    from .layers import dockerignore_spec, dockerignore_ignores

    spec = dockerignore_spec(text)
    out = []
    for rel, what in present:
        is_dir = rel in _SECRET_DIRS
        if not dockerignore_ignores(spec, rel, is_dir) and not any(
                dockerignore_ignores(spec, "/".join(rel.split("/")[:k]), True)
                for k in range(1, rel.count("/") + 1)):
            out.append((rel, what))
    return out


@rule("MLD503")
def secret_file_copied(df, model, ctx) -> Iterator[Violation]:
    """COPY/ADD of credential files, or a whole-context COPY when the context holds some that
    .dockerignore lets through."""
    broad_done = False
    for sm, step, ins, cp, arg, src in _context_sources(model):
        kind = _secret_kind(src, ctx)
        if kind:
            dest = _abs_path(cp.dest, step.workdir)
            if dest is not None and (cp.dest.endswith("/") or len(cp.sources) > 1):
                dest = posixpath.join(dest, _basename(src))
            if not model.ships(sm, dest):
                continue  # a builder stage whose layers never reach an image
            yield Violation(
                arg.span,
                f"{ins.keyword} of {src}: {kind} ends up in an image layer that anyone "
                "who can pull the image can read (deleting it later does not remove "
                "it); pass it at build time with RUN --mount=type=secret or at run "
                "time (docker run --env-file, a mounted secret)")
            continue
        if src.rstrip("/") in (".", "") and not broad_done and model.ships(sm):
            broad_done = True
            found = _context_secrets(ctx)
            if found:
                shown = ", ".join(f"{p} ({w})" for p, w in found[:4])
                yield Violation(
                    arg.span,
                    f"`{ins.keyword} .` copies the whole build context, which holds "
                    f"{shown}, and .dockerignore does not exclude it: the credentials "
                    "end up in an image layer; add them to .dockerignore")


# ========================================================================== MLD504 sudo
@rule("MLD504")
def sudo(df, model, ctx) -> Iterator[Violation]:
    """``sudo`` in a RUN."""
    for sm in model.stages:
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            done = set()
            for c in step.commands:
                words = c.full_argv or c.argv
                for w in words:
                    if w.value is not None and _basename(w.value) == "sudo":
                        if w.span in done:
                            break
                        done.add(w.span)
                        target = " ".join(x.text for x in c.argv[:3])
                        yield Violation(
                            w.span,
                            f"sudo in RUN (`sudo {target}`): build steps already run as the "
                            "USER in effect; sudo adds a setuid binary, may prompt for a "
                            "password or a TTY, and hides which user does what; use USER root "
                            "for the steps that need it, then switch back")
                        break
                    if w is c.argv[0]:
                        break


# ========================================================= MLD505 tls-verification-disabled
_TLS_ENV = {
    "PYTHONHTTPSVERIFY": lambda v: v.strip() == "0",
    "GIT_SSL_NO_VERIFY": lambda v: v.strip().lower() not in ("", "0", "false", "no"),
    "NODE_TLS_REJECT_UNAUTHORIZED": lambda v: v.strip() == "0",
    "PIP_TRUSTED_HOST": lambda v: bool(v.strip()),
    "CURL_INSECURE": lambda v: v.strip().lower() in ("1", "true", "yes"),
}


#: curl short options that take a value (the rest of a combined word is that value)
_CURL_VALUE_SHORT = frozenset("oduUxXeTAbcwmrEKCFHYyzQtPz")


def _curl_short_k(v: str) -> bool:
    """``-k`` inside a combined short-option word (``-fsSLk``), before any option that takes
    a value."""
    if not re.match(r"^-[A-Za-z0-9#:]+$", v):
        return False
    for ch in v[1:]:
        if ch == "k":
            return True
        if ch in _CURL_VALUE_SHORT:
            return False
    return False


def _tls_in_command(c) -> tuple[Span, str] | None:
    name = c.name
    args = c.argv[1:]
    opt_words = [w for w in args if (w.value or "").startswith("-")]
    if name == "curl":
        for w in opt_words:
            v = w.value or ""
            if v == "--insecure" or _curl_short_k(v):
                return w.span, "curl -k/--insecure"
    elif name == "wget":
        for w in opt_words:
            if (w.value or "").startswith("--no-check-certificate"):
                return w.span, "wget --no-check-certificate"
    elif name in ("aria2c",):
        for w in opt_words:
            if (w.value or "") in ("--check-certificate=false",):
                return w.span, "aria2c --check-certificate=false"
    from ..parser.shell import pip_args

    pa = pip_args(c)
    if pa is not None:
        for i, w in enumerate(pa):
            v = w.value or ""
            if v.startswith("--trusted-host"):
                return w.span, "pip --trusted-host"
        vals = [w.value or "" for w in pa]
        if vals[:2] == ["config", "set"] and len(vals) > 2 and vals[2].endswith(
                ".trusted-host"):
            return span_of_words(pa[:3]), "pip config set trusted-host"
    vals = [w.value or "" for w in args]
    low = [v.lower() for v in vals]
    if name == "git" and "config" in low:
        for i, v in enumerate(low):
            if v in ("http.sslverify", "http.sslverify=false") and (
                    i + 1 < len(low) and low[i + 1] in ("false", "0", "no", "off")):
                return span_of_words(args[i:i + 2]), "git config http.sslVerify false"
    if name == "git":
        for i, v in enumerate(low):
            if v == "-c" and i + 1 < len(low) and re.match(
                    r"http\.sslverify=(false|0|no|off)$", low[i + 1]):
                return span_of_words(args[i:i + 2]), "git -c http.sslVerify=false"
    if name in ("npm", "yarn", "pnpm") and "config" in low and "set" in low:
        for i, v in enumerate(low):
            if v in ("strict-ssl", "strict-ssl=false") and (
                    v.endswith("=false") or i + 1 < len(low) and low[i + 1] == "false"):
                return span_of_words(args[i:i + 2] if not v.endswith("=false") else args[i:i + 1]), \
                    f"{name} config set strict-ssl false"
    if name in ("conda", "mamba", "micromamba") and "config" in low:
        for i, v in enumerate(low):
            if v == "ssl_verify" and i + 1 < len(low) and low[i + 1] in ("false", "no", "0"):
                return span_of_words(args[i:i + 2]), f"{name} config ssl_verify false"
    for k, v in c.assignments.items():
        test = _TLS_ENV.get(k)
        if test is not None and test(v):
            return c.span, f"{k}={v}"
    return None


@rule("MLD505")
def tls_verification_disabled(df, model, ctx) -> Iterator[Violation]:
    """Certificate verification turned off (curl -k, wget --no-check-certificate, pip
    --trusted-host, PYTHONHTTPSVERIFY=0, GIT_SSL_NO_VERIFY, NODE_TLS_REJECT_UNAUTHORIZED=0)."""
    consequence = ("anyone on the network path (a proxy, a compromised mirror) can serve "
                   "altered files or packages and the build accepts them; fix the CA bundle "
                   "(install ca-certificates, or COPY the corporate CA and run "
                   "update-ca-certificates) instead")
    for ins in df.instructions:
        if not _live(ins) or ins.keyword not in ("ENV", "ARG"):
            continue
        if ins.keyword == "ENV":
            pairs = [(ins.args[i], ins.args[i + 1].value) for i in range(0, len(ins.args) - 1, 2)]
        else:
            pairs = []
            for a in ins.args:
                n, eq, v = a.value.partition("=")
                if eq:
                    pairs.append((a, v))
        for key, val in pairs:
            name = key.value.partition("=")[0]
            v = val.strip().strip("'\"")
            test = _TLS_ENV.get(name)
            if test is not None and "$" not in v and test(v):
                yield Violation(
                    Span(key.span.start, key.span.start + len(name)),
                    f"{ins.keyword} {name}={v} turns off TLS certificate verification for every "
                    f"later step{' and the running container' if ins.keyword == 'ENV' else ''}: "
                    + consequence)
    for sm in model.stages:
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            seen = set()
            for c in step.commands:
                found = _tls_in_command(c)
                if found is None or found[0] in seen:
                    continue
                seen.add(found[0])
                yield Violation(found[0], f"{found[1]} turns off TLS certificate verification: "
                                + consequence)


# ======================================================= MLD506 remote-script-piped-to-shell
_INTERPRETERS = re.compile(r"^(python[\d.]*|perl|ruby|node|php)$")
_SUBST_SHELL = re.compile(
    r"\b(?:ba|z|da|k)?sh\s+-c\s+[\"']?\$\(\s*(?:curl|wget)\b|"
    r"\b(?:ba|z|da|k)?sh\s+<\(\s*(?:curl|wget)\b|\bsource\s+<\(\s*(?:curl|wget)\b")


def _downloads_to_stdout(c) -> bool:
    vals = [w.value or "" for w in c.argv[1:]]
    if c.name == "curl":
        opts = [v for v in vals if v.startswith("-")]
        if has_flag(opts, ("o", "O"), ("output", "remote-name", "remote-name-all")):
            # `-o -` still writes to stdout
            outs = [vals[i + 1] for i, v in enumerate(vals[:-1]) if v in ("-o", "--output")]
            return bool(outs) and all(o == "-" for o in outs)
        return True
    if c.name == "wget":
        for i, v in enumerate(vals):
            if v in ("-O", "--output-document") and i + 1 < len(vals) and vals[i + 1] == "-":
                return True
            if re.match(r"^-[a-zA-Z]*O-$", v) or v in ("--output-document=-", "-O-"):
                return True
        return False
    return False


def _reads_stdin_script(c) -> bool:
    """A shell or interpreter that runs what it reads on stdin."""
    name = c.name or ""
    vals = [w.value or "" for w in c.argv[1:]]
    if name in SHELLS:
        for v in vals:
            if v in ("-", "-s", "--"):
                return True
            if v.startswith("-"):
                if "c" in v[1:] and not v.startswith("--"):
                    return False
                continue
            return False  # a script file operand
        return True
    if _INTERPRETERS.match(name):
        for v in vals:
            if v == "-":
                return True
            if v.startswith("-"):
                if v in ("-c", "-m", "-e", "-r", "-E") or v.startswith(("-c", "-m")):
                    return False
                continue
            return False
        return True
    return False


@rule("MLD506")
def remote_script_piped_to_shell(df, model, ctx) -> Iterator[Violation]:
    """``curl ... | sh``, ``wget -O- ... | bash`` and ``sh -c "$(curl ...)"``."""
    text = df.source.text
    for sm in model.stages:
        for step in sm.runs():
            ins = step.instruction
            if not _live(ins) or step.script is None:
                continue
            hit = False
            for pl in step.script.pipelines:
                dl = None
                for stage in pl.stages:
                    for c in stage:
                        if dl is None and c.name in ("curl", "wget") and _downloads_to_stdout(c):
                            dl = c
                        elif dl is not None and _reads_stdin_script(c):
                            url = next((w.text for w in dl.argv[1:]
                                        if re.match(r"^(https?|ftp)://", w.text)), None)
                            what = f" {url}" if url else ""
                            yield Violation(
                                pl.span,
                                f"a script downloaded with {dl.name}{what} is piped straight "
                                f"into {c.name}: whatever the server returns (a changed, "
                                "truncated or compromised script) runs as the build user, "
                                "unreviewed and unpinned; download it to a file, verify its "
                                "sha256, then run it")
                            hit = True
                            break
                    if hit:
                        break
                if hit:
                    break
            if hit:
                continue
            src = text[ins.span.start:ins.span.end]
            m = _SUBST_SHELL.search(src)
            if m:
                s = ins.span.start + m.start()
                yield Violation(
                    Span(s, ins.span.start + m.end()),
                    "a script downloaded with curl/wget is run straight by the shell: whatever "
                    "the server returns runs as the build user, unreviewed and unpinned; "
                    "download it to a file, verify its sha256, then run it")


# ================================================================= MLD507 world-writable
_SAFE_WW = re.compile(r"^(/tmp|/var/tmp|/dev|/run/lock|/var/lock)(/|$)|\.sock$")


#: code, configuration and system locations: world-writable there means anyone can replace
#: what root or the app runs
_BROAD = re.compile(r"^/(app|usr|opt|etc|bin|sbin|lib\w*|root|home|srv|workspace|code|src|var|"
                    r"var/www|usr/local|usr/local/bin|usr/local/lib|models?)?/?$")


def _broad_path(p: str, step) -> bool:
    """``/``, a top-level code or system folder, or the WORKDIR itself (``.``)."""
    if p in (".", "./", "*", "./*"):
        return True
    v, complete = expand(p, step.env)
    if not complete:
        return False
    v = v.rstrip("*").rstrip("/") or "/"
    if step.workdir and v == step.workdir.rstrip("/"):
        return True
    return bool(_BROAD.match(v))


def _made_dirs(step, upto) -> set[str]:
    """Paths (as written) that ``mkdir`` created earlier in the same RUN: a fresh, empty folder
    opened up for an arbitrary runtime UID (the official-image data-folder idiom)."""
    made = set()
    for c in step.commands:
        if c is upto:
            break
        if c.name == "mkdir":
            for w in c.argv[1:]:
                t = w.text
                if t.startswith("-"):
                    continue
                made.add(t)
                while "/" in t.rstrip("/"):  # mkdir -p also creates the parents
                    t = t.rstrip("/").rsplit("/", 1)[0]
                    if t:
                        made.add(t)
    return made


def _world_writable(mode: str) -> bool:
    if re.match(r"^[0-7]{3,4}$", mode):
        digits = mode[-3:]
        sticky = len(mode) == 4 and int(mode[0]) & 1
        return int(digits[2]) & 2 != 0 and not sticky
    # symbolic: clauses separated by commas
    ww = False
    sticky = False
    for clause in mode.split(","):
        m = re.match(r"^([ugoa]*)([-+=])([rwxXst]*)$", clause)
        if not m:
            return False
        who, op, perms = m.groups()
        if "t" in perms and op in "+=":
            sticky = True
        if op in "+=" and "w" in perms and (not who or "o" in who or "a" in who):
            if not who:
                continue  # `+w` honours the umask: others do not get write
            ww = True
    return ww and not sticky


@rule("MLD507")
def world_writable(df, model, ctx) -> Iterator[Violation]:
    """``chmod 777`` / ``a+w`` / ``o+w`` (no sticky bit) outside temp folders."""
    for sm in model.stages:
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            for c in step.commands:
                if c.name != "chmod":
                    continue
                args = c.argv[1:]
                opts = [w for w in args if (w.value or "").startswith("-")
                        and not re.match(r"^-[rwxXst]+$", w.value or "")]
                rest = [w for w in args if w not in opts]
                if len(rest) < 2 or rest[0].value is None:
                    continue
                if not _world_writable(rest[0].value):
                    continue
                recursive = has_flag(opts, "R", "recursive")
                made = _made_dirs(step, c)
                risky = []
                for w in rest[1:]:
                    p = w.text
                    if _SAFE_WW.search(p) or p in made:
                        continue
                    if _broad_path(p, step):
                        risky.append(p)
                if not risky:
                    continue
                rec = " -R" if recursive else ""
                yield Violation(
                    Span(c.argv[0].span.start, rest[0].span.end),
                    f"chmod{rec} {rest[0].value} makes {', '.join(risky[:3])} writable by every "
                    "user in the container: any process (a compromised dependency, a web "
                    "request exploit) can replace code or data there; give the runtime user "
                    "ownership instead (COPY --chown / chown) or use group permissions "
                    "(chmod g+w with group 0 for arbitrary UIDs)")


# ==================================================================== MLD508 ssh-exposed
_SSHD_PKGS = {"apt-get": {"openssh-server"}, "apt": {"openssh-server"},
              "apk": {"openssh-server", "dropbear"},
              "yum": {"openssh-server"}, "dnf": {"openssh-server"},
              "microdnf": {"openssh-server"}, "zypper": {"openssh-server", "openssh"}}


@rule("MLD508")
def ssh_exposed(df, model, ctx) -> Iterator[Violation]:
    """The image that ships exposes port 22 or installs an SSH server."""
    final = model.final
    if final is None:
        return
    for sm in final.lineage():
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            for a in step.apt:
                for pk in a.packages:
                    if _pkg_base(pk.name) in _SSHD_PKGS.get(a.tool, ()):
                        yield Violation(
                            pk.span,
                            f"the image installs an SSH server ({_pkg_base(pk.name)}): a "
                            "long-lived credential store and a second way in that bypasses "
                            "the orchestrator's access control and audit; use docker exec / "
                            "kubectl exec for shell access instead")
                        return
    for sm in final.lineage():
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword != "EXPOSE" or not _live(ins):
                continue
            for a in ins.args:
                v, _ = expand(a.value, step.env)
                if v.split("/", 1)[0].strip() == "22" and not v.lower().endswith("/udp"):
                    yield Violation(
                        a.span,
                        "EXPOSE 22 publishes an SSH port: a second way into the container that "
                        "bypasses the orchestrator's access control and audit; use docker exec "
                        "/ kubectl exec for shell access instead")
                    return


# =============================================================== MLD509 useradd-high-uid
_USERADD_VALUE_OPTS = frozenset({"-u", "--uid", "-g", "--gid", "-G", "--groups", "-d", "--home",
                                 "--home-dir", "-s", "--shell", "-c", "--comment", "-k",
                                 "--skel", "-K", "--key", "-p", "--password", "-e",
                                 "--expiredate", "-f", "--inactive", "-b", "--base-dir", "-Z",
                                 "--selinux-user", "-R", "--root", "-P", "--prefix"})


@rule("MLD509")
def useradd_high_uid(df, model, ctx) -> Iterator[Violation]:
    """``useradd`` with a UID >= 100000 and no ``-l``/``--no-log-init``."""
    for sm in model.stages:
        for step in sm.runs():
            if not _live(step.instruction):
                continue
            for c in step.commands:
                if c.name != "useradd":
                    continue
                args = c.argv[1:]
                uid = None
                uid_word = None
                no_log = False
                i = 0
                while i < len(args):
                    w = args[i]
                    v = w.text
                    name, eq, val = v.partition("=")
                    if v in ("-l", "--no-log-init"):
                        no_log = True
                    elif v.startswith("-") and not v.startswith("--") and len(v) > 2 and \
                            all(ch.isalpha() for ch in v[1:]):
                        if "l" in v[1:]:
                            no_log = True
                        if v[-1] == "u" and i + 1 < len(args):
                            uid, uid_word = args[i + 1].raw, args[i + 1]
                            i += 1
                        elif v[-1] in "gGdsckKpefbZRP":
                            i += 1
                    elif name in ("-u", "--uid"):
                        if eq:
                            uid, uid_word = val, w
                        elif i + 1 < len(args):
                            uid, uid_word = args[i + 1].raw, args[i + 1]
                            i += 1
                    elif re.match(r"^-u\d+$", v):
                        uid, uid_word = v[2:], w
                    elif name in _USERADD_VALUE_OPTS and not eq:
                        i += 1
                    i += 1
                if no_log or uid is None:
                    continue
                value, complete = expand(uid.strip("'\""), {**step.env, **c.assignments})
                if not complete or not value.isdecimal() or int(value) < 100000:
                    continue
                name_w = c.argv[0]
                fix = None
                if df.source.text[name_w.span.start:name_w.span.end] == "useradd":
                    fix = Fix(edits=(Edit(name_w.span.end, name_w.span.end, " -l"),),
                              applicability="safe", title="Add -l (--no-log-init)")
                yield Violation(
                    uid_word.span,
                    f"useradd with UID {value} and without -l: useradd writes the sparse "
                    f"/var/log/lastlog and faillog up to that UID, which the layer stores "
                    f"densely (about {int(value) * 292 // 1_000_000} MB for lastlog alone); add "
                    "-l (--no-log-init)",
                    fix=fix)


# ============================================================== MLD604 healthcheck-options
_MODEL_SERVERS = ("torchserve", "tritonserver", "tensorflow_model_server", "vllm",
                  "text-generation-launcher", "bentoml", "mlflow", "serve run", "ollama")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(v: str) -> float | None:
    v = v.strip()
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(v):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return total if pos == len(v) and pos else None


def _model_server(sm, ctx) -> str | None:
    """The server the image starts when it serves a model: a model server program, or a web
    server in an image with an ML framework or GPU signal."""
    from .runtime import find_server

    found = find_server(sm, ctx.source.text)
    if found is None:
        return None
    name = found[0]
    if any(name.startswith(s) or s in name for s in _MODEL_SERVERS):
        return name
    return name if _ml_image(sm, ctx) else None


@rule("MLD604")
def healthcheck_options(df, model, ctx) -> Iterator[Violation]:
    """HEALTHCHECK without --timeout, with --interval under 5s, or without --start-period on a
    model server."""
    final = model.final
    if final is None:
        return
    for sm in final.lineage():
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword != "HEALTHCHECK" or not _live(ins) or not ins.args:
                continue
            if ins.args[0].value.upper() == "NONE":
                continue
            if sm is not final and final.healthcheck is not ins:
                continue
            problems = []
            iv = ins.flag("interval")
            if iv is not None and iv.value:
                secs = _seconds(iv.value)
                if secs is not None and secs < 5:
                    problems.append(f"--interval={iv.value} runs the probe more than once every "
                                    "5 s (load on the server, noisy restarts)")
            if ins.flag("timeout") is None:
                problems.append("no --timeout (the default lets a hung probe block for 30 s)")
            fix = None
            server = None
            if ins.flag("start-period") is None:
                server = _model_server(final, ctx)
                if server:
                    problems.append(f"no --start-period although the image runs a model "
                                    f"server ({server}): loading a model can take minutes and "
                                    "failed probes during that time count towards --retries, "
                                    "so the orchestrator may kill it before it is ready")
                    kw = ins.keyword_span
                    fix = Fix(edits=(Edit(kw.end, kw.end, " --start-period=120s"),),
                              applicability="safe", title="Add --start-period=120s")
            if not problems:
                continue
            yield Violation(ins.keyword_span, "HEALTHCHECK: " + "; ".join(problems), fix=fix)


# ============================================================== MLD605 python-unbuffered
def _python_command(sm, ctx):
    """``(instruction, command)`` when the final CMD/ENTRYPOINT runs a Python program directly
    (``python app.py``, ``python -m pkg``), else ``None``."""

    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        cmds = entrypoint_commands(ins, ctx.source.text)
        for c in cmds:
            argv = argv_text(c)
            t = python_target(argv)
            if t is None:
                continue
            kind, target, _ = t
            if kind == "c":
                continue
            pre = argv[1:argv.index(target)] if target in argv else argv[1:]
            if any(a == "-u" or (a.startswith("-") and not a.startswith("--") and "u" in a[1:]
                                 and a not in ("-W", "-X")) for a in pre):
                return None
            return ins, c
        if ins is sm.entrypoint and cmds:
            break  # an entrypoint that is not python: CMD is its argument
    return None


@rule("MLD605")
def python_unbuffered(df, model, ctx) -> Iterator[Violation]:
    """A Python app image without PYTHONUNBUFFERED."""
    sm = model.final
    if sm is None:
        return
    if (sm.final_env.get("PYTHONUNBUFFERED") or "").strip():
        return
    found = _python_command(sm, ctx)
    if found is None:
        return
    ins, c = found
    if not any(s.instruction is ins for s in sm.steps):
        return
    span = c.argv[0].span if c.argv and c.argv[0].span.end > c.argv[0].span.start else \
        ins.keyword_span
    text = df.source.text
    line_start = _line_start(text, ins.span.start)
    above = [cm.line for cm in ins.comments if cm.line < ins.start_line]
    fix = None
    if not text[line_start:ins.span.start].strip():
        start = line_start
        if above:
            first = min(above)
            for cm in ins.comments:
                if cm.line == first:
                    start = _line_start(text, cm.span.start)
        indent = text[line_start:ins.span.start]
        fix = Fix(edits=(Edit(start, start, f"{indent}ENV PYTHONUNBUFFERED=1\n"),),
                  applicability="safe", title="Add ENV PYTHONUNBUFFERED=1")
    yield Violation(
        span,
        "the image runs Python without PYTHONUNBUFFERED: stdout is block-buffered when it is "
        "not a terminal, so print() output reaches `docker logs` late and is lost when the "
        "process crashes; add ENV PYTHONUNBUFFERED=1 (or run python -u)",
        fix=fix)


# ========================================================= MLD606 workers-duplicate-model
def _workers(argv: list[str], env: dict) -> tuple[int, int] | None:
    """``(workers, index of the value word)`` for uvicorn/gunicorn/hypercorn argv."""

    prog = program_name(argv[0]) if argv else ""
    start = 1
    t = python_target(argv)
    if t is not None and t[0] == "m":
        prog = t[1]
        start = argv.index(t[1]) + 1 if t[1] in argv else len(argv)
    if prog not in ("uvicorn", "gunicorn", "hypercorn"):
        return None
    if prog == "gunicorn" and "--preload" in argv:
        return None
    flags = ("--workers", "-w") if prog in ("gunicorn", "hypercorn") else ("--workers",)
    for i in range(start, len(argv)):
        a = argv[i]
        name, eq, val = a.partition("=")
        idx = i
        if name in flags:
            if not eq:
                if i + 1 >= len(argv):
                    return None
                val, idx = argv[i + 1], i + 1
        elif prog != "uvicorn" and re.match(r"^-w\d+$", a):
            val = a[2:]
        else:
            continue
        val, complete = expand(val, env)
        if complete and val.isdecimal():
            return int(val), idx
        return None
    return None


def _loads_model(sm, ctx) -> str | None:
    """How the image gets a model: downloaded at build time, or weights COPY'd in."""
    from .layers import download_in

    for st in sm.lineage():
        for step in st.steps:
            ins = step.instruction
            if not _live(ins):
                continue
            if ins.keyword == "RUN":
                d = download_in(step)
                if d is not None:
                    return f"downloads a model ({d[1]})"
            elif ins.keyword in ("COPY", "ADD"):
                cp = _copy_of(st, step)
                if cp is None:
                    continue
                for src in cp.sources:
                    what = _weights_source(src, st, ctx)
                    if what:
                        return f"copies model weights ({what})"
    return None


@rule("MLD606")
def workers_duplicate_model(df, model, ctx) -> Iterator[Violation]:
    """A model server started with several worker processes in an image that carries a
    model."""

    sm = model.final
    if sm is None:
        return
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        for c in entrypoint_commands(ins, ctx.source.text):
            argv = argv_text(c)
            found = _workers(argv, sm.final_env)
            if found is None or found[0] < 2:
                continue
            how = _loads_model(sm, ctx)
            if how is None:
                return
            n, idx = found
            words = c.argv
            span = words[idx].span if idx < len(words) else c.span
            yield Violation(
                span,
                f"{n} worker processes each load their own copy of the model (the image "
                f"{how}): {n}x the RAM or GPU memory; run one worker per GPU/container and "
                "scale with replicas, or use a server that batches requests in one process")
            return


# ===================================================== MLD607 runtime-download-every-start
_DL_SCRIPT = re.compile(r"(^|[/_-])(download|fetch|get)[_-]?(model|weights|checkpoint|ckpt)s?"
                        r"\w*\.(py|sh)$|^download[\w-]*\.(py|sh)$", re.I)
_WEIGHT_URL = re.compile(r"^https?://\S+\.(pt|pth|bin|safetensors|onnx|ckpt|gguf)(\?\S*)?$",
                         re.I)


def _is_download(c) -> str | None:

    argv = argv_text(c)
    if not argv:
        return None
    name = c.name or ""
    if name in ("huggingface-cli", "hf") and argv[1:2] == ["download"]:
        return f"{name} download"
    if name in ("wget", "curl") and any(_WEIGHT_URL.match(a) for a in argv[1:]):
        return f"{name} of model weights"
    t = python_target(argv)
    if t is not None:
        kind, target, _ = t
        if kind == "file" and _DL_SCRIPT.search(_basename(target)):
            return f"python {target}"
        if kind == "c" and re.search(r"snapshot_download|hf_hub_download|from_pretrained",
                                     target):
            return "python -c (a model download)"
        return None
    if name.endswith(".sh") and _DL_SCRIPT.search(name):
        return argv[0]
    return None


@rule("MLD607")
def runtime_download_every_start(df, model, ctx) -> Iterator[Violation]:
    """CMD/ENTRYPOINT downloads a model before starting the app, with no VOLUME for it."""

    sm = model.final
    if sm is None:
        return
    for st in sm.lineage():
        if any(s.instruction.keyword == "VOLUME" and _live(s.instruction) for s in st.steps):
            return
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None or not any(s.instruction is ins for s in sm.steps):
            continue
        cmds = entrypoint_commands(ins, ctx.source.text)
        if len(cmds) < 2:
            continue
        for c in cmds[:-1]:
            what = _is_download(c)
            if what is None:
                continue
            yield Violation(
                Span(c.argv[0].span.start, c.argv[-1].span.end),
                f"the container runs {what} before starting the app, and no VOLUME keeps the "
                "files: every container start downloads them again (slow starts, "
                "rate limits, failures when the Hub is down); download at build time in a "
                "separate stage, or declare a cache VOLUME (e.g. for HF_HOME) and skip files "
                "that exist")
            return
