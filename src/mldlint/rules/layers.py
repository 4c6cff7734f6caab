"""Rules: layers and build cache (MLD401, MLD402, MLD404, MLD405)."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Iterator

from ..fixer import Edit, Fix
from ..parser import shell as sh
from ..parser.nodes import Span
from .base import Violation, rule
from .packages import (
    covers,
    lists_left_behind,
    pip_cache_written,
    removed_paths,
    lists_created,
    norm_path,
)


# ------------------------------------------------------------------------------ shared helpers
def _copy_steps(sm) -> list:
    """``(step, copy)`` for each COPY/ADD of a stage, in order."""
    by_ins = {id(cp.instruction): cp for cp in sm.copies}
    return [(s, by_ins[id(s.instruction)]) for s in sm.steps
            if id(s.instruction) in by_ins and not s.instruction.swallowed]


def _from_context(cp) -> bool:
    """A COPY/ADD whose sources come from the build context (not ``--from``, not a URL)."""
    return cp.from_ref is None and not any(re.match(r"^[a-z]+://", s) for s in cp.sources)


def _cmd_span(cmd) -> Span:
    return Span(cmd.argv[0].span.start, cmd.argv[-1].span.end)


def _line(df, offset: int) -> int:
    return df.source.text.count("\n", 0, offset) + 1


def _copy_text(cp) -> str:
    ins = cp.instruction
    return f"{ins.keyword} {' '.join(ins.values)}"


_WALK_LIMIT = 20000


# ------------------------------------------------------------------ moving instructions (fixes)
class _Lines:
    """Physical lines of the source: 1-based start/end offsets (end past the newline)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        self.starts.extend(m.end() for m in re.finditer("\n", text))
        self.count = len(self.starts) - (1 if text.endswith("\n") else 0)

    def start(self, line: int) -> int:
        return self.starts[line - 1] if line - 1 < len(self.starts) else len(self.text)

    def end(self, line: int) -> int:
        return self.starts[line] if line < len(self.starts) else len(self.text)

    def blank(self, line: int) -> bool:
        if line < 1 or line > self.count:
            return False
        return not self.text[self.start(line):self.end(line)].strip()


def _block_first_line(df, ins) -> int:
    """The first line of an instruction with the comment lines directly above it (no blank
    line between; parser directives excluded)."""
    above = {c.line for c in ins.comments if c.line < ins.start_line}
    directives = {d.line for d in df.directives}
    first = ins.start_line
    while first - 1 in above and first - 1 not in directives:
        first -= 1
    return first


def _move_edits(df, lines: _Lines, ins, before, prefix: str = "") -> tuple[Edit, Edit] | None:
    """Edits that move instruction ``ins`` (with its comments directly above, continuation
    lines and heredoc bodies) to just above instruction ``before`` (and its comments), with
    ``prefix`` (whole lines) put in front of it. Blank-line paragraphs are kept: a block that
    stood alone between blank lines takes one of them along."""
    text = lines.text
    first, last = _block_first_line(df, ins), ins.end_line
    a, b = lines.start(first), lines.end(last)
    target = _block_first_line(df, before)
    p = lines.start(target)
    if p >= a:
        return None
    block = text[a:b]
    alone = first == 1 or lines.blank(first - 1)
    if not block.endswith("\n"):  # the last line of the file
        block += "\n"
        a -= 1
        if a > 0 and text[a - 1] == "\r":
            a -= 1
        if a < p:
            return None
    elif alone and lines.blank(last + 1):
        b = lines.end(last + 1)
    insert = prefix + block
    if alone and lines.blank(target - 1):
        insert += "\n"
    return Edit(p, p, insert), Edit(a, b, "")


# ------------------------------------------------------------------------------------- MLD401
@dataclass
class _Install:
    cmd: object
    manifests: list[str]     # absolute paths read by the install
    needs_source: bool       # installs the project itself (pip install ., poetry install)
    label: str


def _verb_args(cmd) -> list[str]:
    return [w.text for w in cmd.argv[1:]]


def _file_opts(vals: list[str], *names: str) -> list[str]:
    return sh.flag_value(vals, short=[n[1] for n in names if len(n) == 2],
                         long=[n[2:] for n in names if n.startswith("--")])


def _installs(step) -> list[_Install]:
    """Dependency installs of a RUN with the manifest files they read (absolute, resolved
    against the WORKDIR and ``cd`` commands of the RUN)."""
    pips = {id(p.command): p for p in step.pip}
    out: list[_Install] = []
    cwd = step.workdir or "/"
    for cmd in step.commands:
        name = cmd.name
        vals = _verb_args(cmd)
        if name == "cd" and cmd.shell_span is None:
            if vals and cmd.argv[1].value is not None and not vals[0].startswith("-"):
                cwd = norm_path(vals[0], cwd)
            elif vals:
                cwd = None
            continue
        if cwd is None or any("$" in v for v in vals):
            continue
        label = " ".join(w.text for w in cmd.argv)
        if len(label) > 60:
            label = label[:57] + "..."
        p = pips.get(id(cmd))
        if p is not None:
            files = p.requirement_files + p.constraint_files
            if files and not p.packages and not p.local:
                out.append(_Install(cmd, [norm_path(f, cwd) for f in files], False, label))
            elif p.local and not p.packages and not p.requirement_files:
                for loc in p.local:
                    if loc.split("[")[0] in (".", "./") or loc.startswith("./") and "/" not in \
                            loc[2:].rstrip("/"):
                        d = norm_path(loc.split("[")[0], cwd)
                        out.append(_Install(cmd, [d + "/pyproject.toml", d + "/setup.py",
                                                  d + "/setup.cfg"], True, label))
                        break
            continue
        args = sh.pip_args(cmd)
        if args is not None:
            if sh.pip_kind(cmd) == "uv" and args and args[0].text == "sync":
                files = [a.text for a in args[1:] if not a.text.startswith("-")]
                if files:
                    out.append(_Install(cmd, [norm_path(f, cwd) for f in files], False, label))
            continue
        verb = vals[0] if vals else ""
        if name == "poetry" and verb == "install":
            root = "--no-root" not in vals  # --only-root installs just the project source
            out.append(_Install(cmd, [norm_path("pyproject.toml", cwd), norm_path("poetry.lock", cwd)],
                                root, label))
        elif name == "uv" and verb == "sync":
            proj = "--no-install-project" not in vals and "--only-deps" not in vals
            out.append(_Install(cmd, [norm_path("pyproject.toml", cwd), norm_path("uv.lock", cwd)],
                                proj, label))
        elif name == "pipenv" and verb in ("install", "sync") and len(
                [v for v in vals[1:] if not v.startswith("-")]) == 0:
            out.append(_Install(cmd, [norm_path("Pipfile", cwd), norm_path("Pipfile.lock", cwd)],
                                False, label))
        elif name in ("conda", "mamba", "micromamba"):
            sub = vals[:2]
            if sub in (["env", "create"], ["env", "update"]) or (
                    name == "micromamba" and verb in ("create", "install", "update")):
                files = _file_opts(vals, "-f", "--file")
                if not files and sub[:1] == ["env"]:
                    files = ["environment.yml"]
                if files:
                    out.append(_Install(cmd, [norm_path(f, cwd) for f in files], False, label))
        elif name == "npm" and (verb == "ci" or verb in ("install", "i") and not [
                v for v in vals[1:] if not v.startswith("-")]):
            out.append(_Install(cmd, [norm_path("package.json", cwd)], False, label))
        elif name == "yarn" and (not vals or verb == "install"):
            out.append(_Install(cmd, [norm_path("package.json", cwd), norm_path("yarn.lock", cwd)],
                                False, label))
    return out


def _looks_like_dir(src: str) -> bool:
    base = src.rstrip("/").rsplit("/", 1)[-1]
    return src.endswith("/") or src in (".", "./", "*") or "." not in base


def _provider(ctx, copy_step, cp, path: str) -> str | None:
    """How COPY ``cp`` provides absolute ``path``: ``"broad"`` (the context root or a folder
    with more than the manifest), ``"narrow"`` (the file itself, or a glob of it), ``"other"``
    (from another stage or image), or ``None`` when it does not."""
    if not cp.dest or "$" in cp.dest:
        return None
    dest = norm_path(cp.dest, copy_step.workdir or "/")
    dest_is_dir = cp.dest.endswith("/") or len(cp.sources) > 1
    for s in cp.sources:
        if not s or "$" in s:
            continue
        if cp.from_ref is not None:
            if path == dest or path.startswith(dest.rstrip("/") + "/"):
                return "other"
            continue
        s_clean = s.rstrip("/") if s not in ("/",) else s
        base = posixpath.basename(s_clean)
        if path == dest and not dest_is_dir:
            return "narrow" if not _looks_like_dir(s) else None
        if not path.startswith(dest.rstrip("/") + "/"):
            continue
        rel = posixpath.relpath(path, dest)
        if any(ch in base for ch in "*?["):
            if "/" not in rel and fnmatch.fnmatch(rel, base) and base != "*":
                return "narrow"
            if base == "*" and s_clean in ("*", "./*"):
                return "broad"
            continue
        if s_clean in (".", "./", "") or posixpath.normpath(s_clean) == ".":
            return "broad"
        if "/" not in rel and base == rel:
            return "narrow"
        if _looks_like_dir(s):
            if ctx.context_dir and not ctx.context_exists(posixpath.join(s_clean, rel)):
                continue
            return "broad"
    return None


def _rel_to_copy(path: str, copy_step, cp) -> str:
    """``path`` as a path in the build context (relative to the COPY's destination)."""
    dest = norm_path(cp.dest, copy_step.workdir or "/")
    src = cp.sources[0].rstrip("/") if cp.sources else "."
    rel = posixpath.relpath(path, dest) if path.startswith(dest.rstrip("/") + "/") else \
        posixpath.basename(path)
    if src not in (".", "", "*") and not src.startswith("./*"):
        rel = posixpath.normpath(posixpath.join(src, rel))
    return rel


def _bind_mounted(step, path: str) -> bool:
    for m in step.mounts:
        if m.type == "bind" and m.target:
            t = norm_path(m.target, step.workdir or "/")
            if path == t or path.startswith(t.rstrip("/") + "/"):
                return True
    return False


#: instructions a moved RUN may cross: they change nothing a RUN sees
_CROSSABLE = frozenset({"LABEL", "EXPOSE", "MAINTAINER", "STOPSIGNAL", "HEALTHCHECK", "CMD",
                        "ENTRYPOINT"})
_LOCKS = {"poetry.lock", "uv.lock", "Pipfile.lock", "yarn.lock"}
_PLAIN_PATH = re.compile(r"^[\w.@+-][\w./@+*-]*$")


def _fix_manifests(inst) -> list[str]:
    """The manifest files (absolute) a moved install needs copied; those it can do without
    (lock files, except for ``npm ci`` and ``uv sync --frozen``/``--locked``) end in ``?``."""
    files = list(inst.manifests)
    cmd = inst.cmd
    if cmd.name == "npm":
        folder = posixpath.dirname(files[0])
        lock = posixpath.join(folder, "package-lock.json")
        files.append(lock)
    out = []
    for f in files:
        base = posixpath.basename(f)
        vals = _verb_args(cmd)
        optional = base in _LOCKS and not (base == "uv.lock" and (
            "--frozen" in vals or "--locked" in vals)) or (
            base == "package-lock.json" and vals[:1] != ["ci"])
        out.append(f + ("?" if optional else ""))
    return out


_SAFE_PROGRAMS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "true", "set",
                            "echo", "export", "virtualenv"})


def _movable_command(cmd, step, allowed: set[int], dest: str) -> bool:
    """A command of a moved install RUN that reads nothing the broad COPY brings: a
    manifest-only install, an install of named packages, a system package install, a cache
    cleanup."""
    if id(cmd) in allowed:
        return True
    name = cmd.name
    vals = _verb_args(cmd)
    if name is None:
        return False
    if name in _SAFE_PROGRAMS or name == "cd":
        return True
    pips = {id(p.command): p for p in step.pip}
    p = pips.get(id(cmd))
    if p is not None:
        return not (p.local or p.requirement_files or p.constraint_files)
    args = sh.pip_args(cmd)
    if args is not None:
        words = [a.text for a in args]
        return words[:1] == ["cache"] or words[:1] == ["venv"] or (
            words[:1] == ["install"] and not any(w.startswith((".", "/", "-r", "-c", "-e"))
                                                 or w in ("--requirement", "--editable")
                                                 for w in words[1:]))
    if re.match(r"^python[\d.]*$", name):
        return vals[:2] in (["-m", "venv"], ["-m", "pip"]) and "install" not in vals[2:3] or \
            vals[:3] == ["-m", "pip", "cache"]
    if name in ("conda", "mamba", "micromamba"):
        return vals[:1] in (["clean"], ["config"], ["init"]) or vals[:1] == ["install"] and \
            not sh.has_flag(vals, short="f", long="file")
    if name in ("npm", "yarn"):
        return vals[:1] == ["cache"]
    if name == "rm":
        paths = [w for w in cmd.argv[1:] if not w.text.startswith("-")]
        d = dest.rstrip("/") + "/"
        return bool(paths) and all(w.value and w.value.startswith("/") and not
                                   (w.value + "/").startswith(d) for w in paths)
    return False


def _copy_dest_text(folder: str, workdir: str, several: bool) -> str:
    """How a reviewer writes the destination ``folder`` of a COPY run in ``workdir``."""
    wd = workdir.rstrip("/") or "/"
    if folder == wd:
        return "./" if several else "."
    if wd != "/" and folder.startswith(wd + "/"):
        return folder[len(wd) + 1:] + "/"
    if wd == "/" and folder != "/":
        return folder + "/"
    return folder.rstrip("/") + "/"


def _install_fix(df, ctx, sm, step, hits, cp, cstep) -> Fix | None:
    """MLD401's fix: ``COPY <manifests> <dest>`` above the broad COPY ``cp``, then the
    install RUN moved right after it (unsafe); ``None`` when something stands in the way."""
    ins = step.instruction
    if any(inst.needs_source for inst, _, _ in hits):
        return None
    steps = sm.steps
    i0 = next(i for i, s in enumerate(steps) if s is cstep)
    i1 = next(i for i, s in enumerate(steps) if s is step)
    if any(s.instruction.keyword not in _CROSSABLE for s in steps[i0 + 1:i1]):
        return None
    cins = cp.instruction
    flags = []
    for f in cins.flags:
        if f.name.lower() not in ("chown", "chmod", "link"):
            return None
        flags.append(df.source.text[f.span.start:f.span.end])
    if "$" in cp.dest:
        return None
    dest_abs = norm_path(cp.dest, cstep.workdir or "/")
    installs = [inst for inst, _, _ in hits]
    allowed = {id(inst.cmd) for inst in installs}
    for other in _installs(step):
        if not other.needs_source and id(other.cmd) not in allowed:
            installs.append(other)
            allowed.add(id(other.cmd))
    if not all(_movable_command(c, step, allowed, dest_abs) for c in step.commands):
        return None
    by_dir: dict[str, list[str]] = {}
    for inst in installs:
        wanted = _fix_manifests(inst)
        # the build context is trusted for optional files when it holds the required ones
        known = bool(ctx.context_dir) and all(
            ctx.context_exists(_rel_to_copy(m, cstep, cp)) for m in wanted
            if not m.endswith("?"))
        for m in wanted:
            optional = m.endswith("?")
            m = m.rstrip("?")
            if _bind_mounted(step, m):
                continue
            if _provider(ctx, cstep, cp, m) != "broad":
                if optional:
                    continue
                return None
            rel = _rel_to_copy(m, cstep, cp)
            if rel.startswith("..") or not _PLAIN_PATH.match(rel):
                return None
            if optional:
                if known and not ctx.context_exists(rel):
                    continue
                if not known:
                    rel += "*"
            names = by_dir.setdefault(posixpath.dirname(m), [])
            if rel not in names:
                names.append(rel)
    if not by_dir:
        return None
    lines = []
    for folder, names in by_dir.items():
        dest = _copy_dest_text(folder, cstep.workdir or "/", len(names) > 1)
        lines.append(" ".join(["COPY", *flags, *names, dest]) + "\n")
    edits = _move_edits(df, _Lines(df.source.text), ins, cins, "".join(lines))
    if edits is None:
        return None
    shown = " ".join(n for names in by_dir.values() for n in names)
    return Fix(edits=edits, applicability="unsafe",
               title=f"COPY {shown} first and move the install above `{_copy_text(cp)}`")


@rule("MLD401")
def dependency_install_after_source_copy(df, model, ctx) -> Iterator[Violation]:
    """A dependency install placed after a broad COPY of the source."""
    for sm in model.stages:
        copies = _copy_steps(sm)
        if not copies:
            continue
        order = {id(s): i for i, s in enumerate(sm.steps)}
        for step in sm.runs():
            if step.instruction.swallowed:
                continue
            installs = _installs(step)
            if not installs:  # most RUNs: skip before looking at the copies (linear overall)
                continue
            pos = order[id(step)]
            earlier = [(s, cp) for s, cp in copies if order[id(s)] < pos]
            if not earlier:
                continue
            hits = []  # (install, broad verdict, broad verdicts) per flagged install
            for inst in installs:
                verdicts = []  # (manifest, kind, copy, copy step) of each manifest's latest
                narrow_before = False
                for m in inst.manifests:
                    if _bind_mounted(step, m):
                        verdicts.append((m, "other", None, None))
                        continue
                    latest = None
                    for s, cp in reversed(earlier):
                        kind = _provider(ctx, s, cp, m)
                        if kind is None:
                            continue
                        if latest is None:
                            latest = (m, kind, cp, s)
                        elif kind == "narrow":
                            narrow_before = True
                    if latest is not None:
                        verdicts.append(latest)
                if not verdicts:
                    continue
                if inst.needs_source:
                    if narrow_before or any(v[1] != "broad" for v in verdicts):
                        continue
                    hits.append((inst, verdicts[0], []))
                else:
                    broad = [v for v in verdicts if v[1] == "broad"]
                    if broad:
                        hits.append((inst, broad[0], broad))
            if not hits:
                continue
            # one finding per RUN, at its first such install, naming every manifest involved
            inst, (manifest, _, cp, cstep), _ = hits[0]
            line = cp.instruction.start_line
            rel = _rel_to_copy(manifest, cstep, cp)
            files = []
            for _, _, broad in hits:
                for v in broad:
                    f = _rel_to_copy(v[0], v[3], v[2])
                    if f not in files:
                        files.append(f)
            if files:
                advice = f"COPY {' '.join(files)} first, run the install, then copy the rest"
            else:
                advice = ("install the dependencies from the manifest first (COPY "
                          "pyproject.toml or requirements.txt, install), then COPY the source "
                          "and install the project with --no-deps")
            more = f" (and {len(hits) - 1} more install(s) in this RUN)" if len(hits) > 1 else ""
            if files:
                fix = _install_fix(df, ctx, sm, step, hits, cp, cstep)
            else:
                fix = Fix(edits=(), applicability="suggest",
                          title="Install the dependencies from the manifest before "
                                f"`{_copy_text(cp)}`, then install the project with --no-deps")
            yield Violation(
                _cmd_span(inst.cmd),
                f"`{inst.label}`{more} runs after `{_copy_text(cp)}` (line {line}), which "
                f"copies the whole source ({rel} included): every code change re-runs the "
                f"install; {advice}", fix=fix)


# ------------------------------------------------------------------------------------- MLD402
_WEIGHT_URL = re.compile(r"^https?://\S+\.(pt|pth|bin|safetensors|onnx|ckpt|gguf)(\?\S*)?$",
                         re.I)
_PY_DOWNLOADS = [
    re.compile(r"\.from_pretrained\(\s*(?P<q>['\"]?)(?P<arg>[^'\",)\s]*)"),
    re.compile(r"\b(?:snapshot_download|hf_hub_download)\("),
    re.compile(r"\btorch\.hub\.load(?:_state_dict_from_url)?\((?P<call>[^)]*)"),
]
_MANIFEST_NAMES = re.compile(
    r"^(requirements[\w.-]*\.(txt|in)|constraints[\w.-]*\.txt|pyproject\.toml|setup\.(py|cfg)|"
    r"poetry\.lock|uv\.lock|Pipfile(\.lock)?|environment[\w.-]*\.ya?ml|conda[\w.-]*\.ya?ml|"
    r"package(-lock)?\.json|yarn\.lock|\.python-version|README[\w.]*|LICEN[CS]E[\w.]*)$")
_HF_CACHE_DIRS = ("/root/.cache/huggingface", "/root/.cache/torch")


def _run_texts(ins) -> list[tuple[str, object]]:
    """(text, to_source) pairs of a RUN: its arguments and heredoc bodies."""
    out = []
    if ins.is_json:
        for a in ins.args:
            out.append((a.value, lambda i, a=a: a.span.start))
    else:
        rest = ins.effective_rest
        out.append((rest.value, rest.map.to_source))
    for h in ins.heredocs:
        out.append((h.content, lambda i, h=h: h.body_span.start + i))
    return out


def download_in(step) -> tuple[Span, str] | None:
    """The first model download of a RUN: (span, description)."""
    ins = step.instruction
    for text, to_src in _run_texts(ins):
        for rx in _PY_DOWNLOADS:
            for m in rx.finditer(text):
                if "arg" in rx.groupindex and m.group("q") and m.group("arg").startswith(
                        ("/", ".", "~")):
                    continue  # a local folder
                if "call" in rx.groupindex and re.search(r"source\s*=\s*['\"]local",
                                                         m.group("call")):
                    continue
                s = to_src(m.start())
                word = m.group(0).lstrip(".").split("(")[0]
                return Span(s, max(s + 1, to_src(m.start() + len(m.group(0).split("(")[0])))), \
                    f"{word}(...)"
    for cmd in step.commands:
        vals = [w.text for w in cmd.argv[1:]]
        if cmd.name in ("huggingface-cli", "hf") and vals[:1] == ["download"]:
            return _cmd_span(cmd), f"{cmd.name} download"
        if cmd.name in ("wget", "curl"):
            for w in cmd.argv[1:]:
                if w.value and _WEIGHT_URL.match(w.value):
                    return w.span, f"{cmd.name} of {w.value.rsplit('/', 1)[-1].split('?')[0]}"
    return None


def _runs_local_code(step) -> bool:
    """The RUN executes a file from the build context (a script, ``pip install .``)."""
    for cmd in step.commands:
        if cmd.argv[0].text.startswith("./"):
            return True
        if cmd.name and re.match(r"^(python[\d.]*|bash|sh|node)$", cmd.name):
            for w in cmd.argv[1:]:
                t = w.text
                if t.startswith("-"):
                    if t in ("-c", "-m"):
                        break
                    continue
                if re.search(r"\.(py|sh|js)$", t):
                    return True
                break
    return any(p.local for p in step.pip)


def _depends_on(step, cp, text: str) -> bool:
    """The RUN uses something that COPY brought in (it names a copied file or folder, or the
    COPY is the whole context and the RUN runs local code)."""
    for s in cp.sources:
        base = posixpath.basename(s.rstrip("/"))
        if base in ("", ".", "*"):
            if _runs_local_code(step):
                return True
            continue
        if re.search(r"(?<![\w-])" + re.escape(base) + r"(?![\w-])", text):
            return True
    dest = posixpath.basename(cp.dest.rstrip("/"))
    if dest not in ("", ".") and re.search(r"(?<![\w-])" + re.escape(dest) + r"(?![\w-])", text):
        return True
    return False


def _is_app_code(cp) -> bool:
    return _from_context(cp) and not all(
        _MANIFEST_NAMES.match(posixpath.basename(s.rstrip("/")) or "") for s in cp.sources)


def _download_fix(df, sm, step, text: str) -> Fix | None:
    """MLD402's fix: move the download RUN above the earliest COPY it can cross (unsafe).
    Walking up from the RUN, it crosses COPY/ADD instructions it does not depend on and
    metadata instructions; it stops at a RUN (the download may need what it installs), at
    ENV/ARG/WORKDIR/USER/SHELL/VOLUME/ONBUILD, and at a COPY it names."""
    steps = sm.steps
    i = next(k for k, s in enumerate(steps) if s is step)
    target = None
    for s in reversed(steps[:i]):
        ins = s.instruction
        if ins.swallowed:
            return None
        if ins.keyword in ("COPY", "ADD"):
            cp = sm.copy_of(ins)
            if cp is None or not _from_context(cp) or _depends_on(step, cp, text):
                break
            target = ins
            continue
        if ins.keyword in _CROSSABLE:
            continue
        break
    if target is None:
        return None
    edits = _move_edits(df, _Lines(df.source.text), step.instruction, target)
    if edits is None:
        return None
    return Fix(edits=edits, applicability="unsafe",
               title=f"Move the model download above `{_copy_text(_copy_of(sm, target))}`")


def _copy_of(sm, ins):
    """The CopyStep of a COPY/ADD instruction."""
    return sm.copy_of(ins)


@rule("MLD402")
def model_download_after_source_copy(df, model, ctx) -> Iterator[Violation]:
    """A model download placed after a COPY of application code it does not need."""
    for sm in model.stages:
        seen: list = []
        for step in sm.steps:
            ins = step.instruction
            if ins.swallowed:
                continue
            if ins.keyword in ("COPY", "ADD"):
                cp = sm.copy_of(ins)
                if cp is not None and _is_app_code(cp):
                    seen.append(cp)
                continue
            if ins.keyword != "RUN" or not seen:
                continue
            if step.has_cache_mount(*_HF_CACHE_DIRS):
                continue
            found = download_in(step)
            if found is None:
                continue
            text = " ".join(t for t, _ in _run_texts(ins))
            independent = [cp for cp in seen if not _depends_on(step, cp, text)]
            if not independent:
                continue
            span, what = found
            cp = independent[0]
            yield Violation(
                span,
                f"model download ({what}) runs after `{_copy_text(cp)}` (line "
                f"{cp.instruction.start_line}): every code change invalidates this layer and "
                "the model is downloaded again; move this RUN above that COPY",
                fix=_download_fix(df, sm, step, text))


# ------------------------------------------------------------------------------------- MLD404
@dataclass
class _Created:
    step: object
    kind: str       # apt-lists, pip-cache, conda-pkgs, file
    path: str
    what: str


_CONDA = ("conda", "mamba", "micromamba")
_CONDA_PKGS = "/opt/conda/pkgs"


def _conda_installs(cmd) -> bool:
    if cmd.name not in _CONDA:
        return False
    vals = [w.text for w in cmd.argv[1:] if not w.text.startswith("-")]
    return vals[:1] in (["install"], ["create"], ["update"]) or vals[:2] in (
        ["env", "create"], ["env", "update"])


def _conda_cleans(cmd) -> bool:
    return cmd.name in _CONDA and [w.text for w in cmd.argv[1:2]] == ["clean"]


def _downloads(cmd, cwd: str) -> list[str]:
    """Files a wget/curl command writes (absolute paths)."""
    vals = [w.value for w in cmd.argv[1:]]
    if any(v is None for v in vals):
        return []
    urls = [v for v in vals if re.match(r"^(https?|ftp)://", v)]
    if cmd.name == "wget":
        out = sh.flag_value(vals, short="O", long="output-document")
        if out:
            return [] if out[-1] == "-" else [norm_path(out[-1], cwd)]
        pref = sh.flag_value(vals, short="P", long="directory-prefix")
        d = norm_path(pref[-1], cwd) if pref else cwd
        return [norm_path(u.split("?")[0].rstrip("/").rsplit("/", 1)[-1], d) for u in urls
                if u.split("?")[0].rstrip("/").count("/") > 2]
    if cmd.name == "curl":
        out = sh.flag_value(vals, short="o", long="output")
        if out:
            return [norm_path(o, cwd) for o in out if o != "-"]
        if any(v == "-O" or v == "--remote-name" or re.match(r"^-[a-zA-Z]*O[a-zA-Z]*$", v)
               for v in vals):
            return [norm_path(u.split("?")[0].rstrip("/").rsplit("/", 1)[-1], cwd) for u in urls]
    return []


def _created_by(sm_, step) -> list[_Created]:
    """What a RUN leaves in its layer that a later cleanup might target."""
    out = []
    if lists_left_behind(step) is not None:
        out.append(_Created(step, "apt-lists", "/var/lib/apt/lists", "apt-get update"))
    for p in step.pip:
        where = pip_cache_written(sm_, step, p)
        if where is not None:
            out.append(_Created(step, "pip-cache", where, "pip install"))
    cmds = step.commands
    for i, c in enumerate(cmds):
        if _conda_installs(c) and not any(_conda_cleans(x) for x in cmds[i + 1:]) and \
                not step.has_cache_mount(_CONDA_PKGS):
            words = [w.text for w in c.argv[1:] if not w.text.startswith("-")][:2]
            if words[:1] != ["env"]:
                words = words[:1]
            out.append(_Created(step, "conda-pkgs", _CONDA_PKGS, " ".join([c.name, *words])))
            break
    cwd = step.workdir or "/"
    for c in cmds:
        if c.name in ("wget", "curl") and c.shell_span is None:
            for f in _downloads(c, cwd):
                out.append(_Created(step, "file", f, f"{c.name} of {posixpath.basename(f)}"))
    return out


def _cleanup_target(cmd, step, created_here: set[str]) -> list[tuple[str, str]]:
    """(kind, path) that a cleanup command removes, skipping what this RUN made itself
    before it (``created_here``)."""
    out = []
    if _conda_cleans(cmd) and "conda-pkgs" not in created_here:
        out.append(("conda-pkgs", _CONDA_PKGS))
    args = sh.pip_args(cmd)
    if args is not None and [w.text for w in args[:2]] == ["cache", "purge"] and \
            "pip-cache" not in created_here:
        out.append(("pip-cache", "*"))
    rm = removed_paths(cmd, step.workdir or "/")
    if rm:
        for r in rm:
            if covers(r, "/var/lib/apt/lists/x") and "apt-lists" not in created_here:
                out.append(("apt-lists", r))
            if "pip-cache" not in created_here:
                out.append(("pip-cache", r))
            if covers(r, _CONDA_PKGS + "/x") and "conda-pkgs" not in created_here:
                out.append(("conda-pkgs", r))
            out.append(("file", r))
    return out


_AND_GAP = re.compile(r"(?:[ \t]|\\\r?\n)*&&(?:[ \t]|\\\r?\n)*")
_APT_PROGRAMS = frozenset({"apt-get", "apt", "apt-cache", "apt-file", "aptitude",
                           "add-apt-repository", "dpkg"})


def _and_list(df, step) -> list | None:
    """The commands of a shell-form RUN that is a plain ``a && b && c`` list of simple
    commands (no heredoc, pipe, ``;``, subshell, substitution or comment line), else ``None``."""
    ins = step.instruction
    if ins.is_json or ins.heredocs or ins.swallowed or df.escape != "\\":
        return None
    cmds = step.commands
    if not cmds or any(c.shell_span is not None or c.in_substitution or c.background or
                       c.negated for c in cmds):
        return None
    text = df.source.text
    rest = ins.effective_rest.span()
    if text[rest.start:cmds[0].span.start].strip() or text[cmds[-1].span.end:rest.end].strip():
        return None
    for x, y in zip(cmds, cmds[1:]):
        if x.span.end > y.span.start or not _AND_GAP.fullmatch(text[x.span.end:y.span.start]):
            return None
    return cmds


def _posix_shell(step) -> bool:
    return not step.shell or posixpath.basename(step.shell[0]) in sh.SHELLS


def _path_prefix(path: str) -> str:
    """The literal folder part of a removed path (``/var/lib/apt/lists/*`` -> ``/var/lib/apt/
    lists``)."""
    cut = min((path.find(ch) for ch in "*?[" if ch in path), default=len(path))
    return path[:cut].rstrip("/")


def _overlaps(a: str, b: str) -> bool:
    a, b = a.rstrip("/") + "/", b.rstrip("/") + "/"
    return a.startswith(b) or b.startswith(a)


def _uses_removed(cmds, text: str, hit, removed: list[str]) -> bool:
    """Commands (and their RUN text) that may read what the cleanup removes."""
    if hit.kind == "apt-lists" and (any(c.name in _APT_PROGRAMS for c in cmds) or
                                    "/var/lib/apt" in text):
        return True
    if hit.kind == "pip-cache" and (".cache" in text or "pip cache" in text):
        return True
    if hit.kind == "conda-pkgs" and (any(c.name in _CONDA for c in cmds) or "pkgs" in text):
        return True
    if hit.kind == "file" and posixpath.basename(hit.path) in text:
        return True
    return any(p and p in text for p in map(_path_prefix, removed))


def _append_text(df, lines: _Lines, ins, end: int, command: str) -> str:
    """`` && command`` to append at ``end`` (the end of RUN ``ins``), in its continuation style:
    on the same line for a one-line RUN, else on a new line indented like its last line, with
    ``&&`` leading or trailing as the RUN writes it."""
    if ins.start_line == ins.end_line:
        return f" && {command}"
    last = lines.text.count("\n", 0, end) + 1
    line = lines.text[lines.start(last):lines.end(last)]
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    prev = lines.text[lines.start(last - 1):lines.end(last - 1)].rstrip()
    if not line.lstrip().startswith("&&") and re.search(r"&&\s*\\$", prev):
        return f" && \\\n{indent}{command}"
    return f" \\\n{indent}&& {command}"


def _related(removed: str, hit) -> bool:
    """A removed path that is (part of) what the creating RUN left behind."""
    p = _path_prefix(removed)
    if hit.kind == "apt-lists" and p.startswith(("/var/lib/apt", "/var/cache/apt")):
        return True
    own = hit.path.rstrip("/")
    if hit.kind == "pip-cache" and p == posixpath.dirname(own):  # ~/.cache
        return True
    return bool(p) and (p + "/").startswith(own + "/")


def _is_cleanup(cmd) -> bool:
    """``rm``, ``apt-get clean``, ``pip cache purge``, ``conda clean``, ``npm cache clean``."""
    vals = _verb_args(cmd)
    args = sh.pip_args(cmd)
    if args is not None:
        return [a.text for a in args[:1]] == ["cache"]
    return cmd.name == "rm" or (cmd.name in ("apt-get", "apt") and vals[:1] in (
        ["clean"], ["autoclean"])) or _conda_cleans(cmd) or (
        cmd.name in ("npm", "yarn") and vals[:2] == ["cache", "clean"])


def _cleanup_fix(df, sm, step, cmd, hit) -> Fix | None:
    """MLD404's fix: append the cleanup command to the RUN that created the files and remove
    it from the later RUN (the whole RUN when it was its only command). Unsafe; ``None``
    unless both RUNs are plain shell-form ``&&`` lists in the same stage and nothing between
    them (nor the commands before the cleanup in its RUN) may use the removed files."""
    text = df.source.text
    steps = sm.steps
    i0 = next((k for k, s in enumerate(steps) if s is hit.step), None)
    i1 = next(k for k, s in enumerate(steps) if s is step)
    if i0 is None or i0 >= i1:
        return None
    first = hit.step
    fins, ins = first.instruction, step.instruction
    if ins.flags or fins.is_json or fins.heredocs or fins.swallowed or \
            not (_posix_shell(first) and _posix_shell(step)):
        return None
    cmds = _and_list(df, step)
    if cmds is None or df.escape != "\\":
        return None
    k = next((j for j, c in enumerate(cmds) if c is cmd), None)
    if k is None:
        return None
    cwd = step.workdir or "/"
    removed = list(removed_paths(cmd, cwd) or [])
    prefix = cmds[:k]
    if any(c.name in ("cd", "pushd", "export", "set", "source", ".") for c in prefix):
        return None
    moved = [cmd]
    if len(cmds) > 1 and all(_is_cleanup(c) for c in cmds):
        # a RUN of cleanups only (`apt-get clean && rm -rf ...`): it moves as a whole
        moved = cmds
        for c in cmds:
            removed.extend(removed_paths(c, cwd) or [])
            if c.name in ("apt-get", "apt"):
                removed.append("/var/cache/apt")
    elif prefix and _uses_removed(prefix, text[cmds[0].span.start:cmd.span.start], hit,
                                  removed):
        # the commands before it need the files: move them along when the RUNs are adjacent
        if i1 != i0 + 1:
            return None
        moved = cmds[:k + 1]
    words = [w for c in moved for w in c.argv[1:] if not w.text.startswith("-")]
    if any(w.value is None or "$" in w.raw for w in words):
        return None
    if (any(not w.value.startswith(("/", "~")) for w in words) or len(moved) > 1) and (
            first.workdir != step.workdir or
            any(c.name in ("cd", "pushd") for c in first.commands)):
        return None  # relative paths: the earlier RUN must end in the same folder
    for m in first.mounts:
        if m.target and any(_overlaps(_path_prefix(r), norm_path(m.target, cwd)) for r in removed):
            return None
    # across other RUNs, remove early only what the finding is about (a `rm -rf /tmp/*` that
    # rides along would now miss what those RUNs leave in /tmp)
    if any(s.instruction.keyword == "RUN" for s in steps[i0 + 1:i1]) and not all(
            _related(r, hit) for r in removed):
        return None
    for s in steps[i0 + 1:i1]:
        b = s.instruction
        if b.keyword in _CROSSABLE:
            continue
        if b.keyword == "RUN":
            body = b.line_text.value + "".join(h.content for h in b.heredocs)
            if _uses_removed(s.commands, body, hit, removed):
                return None
            continue
        if b.keyword in ("COPY", "ADD"):
            cp = _copy_of(sm, b)
            if "$" in cp.dest or any(_overlaps(_path_prefix(r), norm_path(cp.dest, s.workdir or "/"))
                                     for r in removed):
                return None
            continue
        return None
    command = text[moved[0].span.start:cmd.span.end]
    end = fins.effective_rest.span().end
    lines = _Lines(text)
    if text[end:lines.end(fins.end_line)].strip():
        return None
    joined = re.sub(r"\\\r?\n", "", command)
    old = sh.parse_shell(fins.effective_rest.value)
    new = sh.parse_shell(fins.effective_rest.value + " && " + joined)
    if new.has_error or len(new.commands) != len(old.commands) + len(moved) or \
            new.commands[-1].name != cmd.name:
        return None
    append = Edit(end, end, _append_text(df, lines, fins, end, command))
    if len(cmds) > len(moved):
        n = len(moved)
        cut = Span(cmds[0].span.start, cmds[n].span.start) if moved[0] is cmds[0] else \
            Span(cmds[k - 1].span.end, cmd.span.end)
        remove = Edit(cut.start, cut.end, "")
    else:
        a, b = lines.start(_block_first_line(df, ins)), lines.end(ins.end_line)
        if not text[a:b].endswith("\n"):
            a -= 1
            if a > 0 and text[a - 1] == "\r":
                a -= 1
        elif (lines.blank(_block_first_line(df, ins) - 1)) and lines.blank(ins.end_line + 1):
            b = lines.end(ins.end_line + 1)
        if a <= end:
            return None
        remove = Edit(a, b, "")
    return Fix(edits=(append, remove), applicability="unsafe",
               title=f"Move `{' '.join(w.text for w in cmd.argv)[:50]}`"
                     + (f" (with the {len(moved) - 1} command(s) before it)" if len(moved) > 1
                        else "") + f" into the RUN on line {fins.start_line}")


@rule("MLD404")
def cleanup_in_later_layer(df, model, ctx) -> Iterator[Violation]:
    """A cleanup in a later RUN than the one that created the files."""
    for sm in model.stages:
        own = list(sm.runs())
        if not own:
            continue
        created: list[_Created] = []
        for st in reversed(sm.lineage()[1:]):
            for step in st.runs():
                created.extend(_created_by(st, step))
        for step in own:
            if step.instruction.swallowed:
                continue
            here: set[str] = set()
            pips = {id(p.command) for p in step.pip}
            reported = False
            for cmd in step.commands:
                if lists_created(cmd):
                    here.add("apt-lists")
                if id(cmd) in pips:
                    here.add("pip-cache")
                if _conda_installs(cmd):
                    here.add("conda-pkgs")
                if reported:
                    continue
                for kind, path in _cleanup_target(cmd, step, here):
                    hit = None
                    for c in created:
                        if c.kind != kind:
                            continue
                        if kind == "pip-cache":
                            if path == "*" or covers(path, c.path + "/x"):
                                hit = c
                        elif kind == "file":
                            if covers(path, c.path) and path.rstrip("/*") not in ("", "/tmp"):
                                hit = c
                            elif c.path == path:
                                hit = c
                        else:
                            hit = c
                    if hit is None or not model.ships(sm, hit.path):
                        continue
                    line = hit.step.instruction.start_line
                    yield Violation(
                        _cmd_span(cmd),
                        f"`{' '.join(w.text for w in cmd.argv[:4])}` removes what "
                        f"{hit.what} created in an earlier RUN (line {line}): that layer keeps "
                        "the files, so the image is no smaller; do the cleanup in the RUN that "
                        "created them", fix=_cleanup_fix(df, sm, step, cmd, hit))
                    reported = True
                    break
            created.extend(_created_by(sm, step))


# ------------------------------------------------------------------------------------- MLD405
#: (label, kind, pattern): what typically must not reach the image; ``root`` entries only at
#: the top of the context, ``any`` at any depth
_ARTEFACTS = [
    (".git", "root", ".git"),
    ("__pycache__/", "any", "__pycache__"),
    (".venv/", "root", ".venv"),
    ("*.pt", "any", "*.pt"),
    ("*.pth", "any", "*.pth"),
    ("*.ckpt", "any", "*.ckpt"),
    ("*.safetensors", "any", "*.safetensors"),
    ("*.onnx", "any", "*.onnx"),
    ("data/", "root", "data"),
    ("checkpoints/", "root", "checkpoints"),
    ("wandb/", "root", "wandb"),
    ("mlruns/", "root", "mlruns"),
]
_SKIP_WALK = {".git", "node_modules", ".venv", "__pycache__", "wandb", "mlruns"}


def _context_entries(root: str) -> list[tuple[str, bool]]:
    """(relative path, is_dir) of the build context, bounded (the RuleContext offers no
    listing, so this walks ``context_dir`` itself, read-only)."""
    out: list[tuple[str, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for d in dirnames:
            out.append((rel + d, True))
        for f in filenames:
            out.append((rel + f, False))
        dirnames[:] = [d for d in dirnames if d not in _SKIP_WALK and not d.startswith(".")]
        if len(out) > _WALK_LIMIT:
            break
    return out


def dockerignore_spec(text: str):
    """A pathspec matcher that reads .dockerignore lines the way Docker does: patterns are
    anchored at the context root (``*.pt`` matches only top-level files; ``**/*.pt`` any
    depth), a leading ``/`` is dropped, trailing ``/`` ignored, ``!`` re-includes, last match
    wins."""
    import pathspec

    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        if neg:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/")) if line.strip("/") else ""
        if not line or line == ".":
            continue
        pat = line if line.startswith("**/") else "/" + line
        lines.append(("!" if neg else "") + pat)
    return pathspec.PathSpec.from_lines("gitignore", lines)


def dockerignore_ignores(spec, rel: str, is_dir: bool) -> bool:
    """Whether the .dockerignore matcher ``spec`` (:func:`dockerignore_spec`) excludes the
    context-relative path ``rel`` (a folder when ``is_dir``: also when only its contents
    match)."""
    return spec.match_file(rel + "/" if is_dir else rel) or (
        is_dir and spec.match_file(rel + "/x"))


#: the line the fix writes for each artefact label (Docker anchors patterns at the context
#: root, so any-depth artefacts need ``**/``)
_IGNORE_LINE = {"__pycache__/": "**/__pycache__/", "*.pt": "**/*.pt", "*.pth": "**/*.pth",
                "*.ckpt": "**/*.ckpt", "*.safetensors": "**/*.safetensors",
                "*.onnx": "**/*.onnx"}
#: labels the fix writes into a new .dockerignore even when nothing matches yet: never part of a
#: working image (version control, bytecode caches, a host virtualenv)
_ALWAYS_IGNORE = (".git", "__pycache__/", ".venv/")
#: files that are Dockerfiles too (another build of the same context may need what this one's
#: .dockerignore would exclude)
_DOCKERFILE_NAME = re.compile(r"(?:^|[.-])(?:Docker|Container)file(?:[.-]|$)|\.dockerfile$",
                              re.IGNORECASE)
#: more Dockerfiles than this in the context: a collection, not one project; no fix
_MAX_SIBLINGS = 12
#: build back-ends that read the version from git (pip install . needs .git in the context)
_SCM_VERSIONING = re.compile(r"setuptools[-_]scm|hatch[-_]vcs|versioningit|dunamai|"
                             r"poetry[-_]dynamic[-_]versioning|setuptools[-_]git[-_]versioning|"
                             r"\bpbr\b|versioneer|use_scm_version", re.IGNORECASE)


def _mention_re(label: str) -> re.Pattern:
    """What counts as a Dockerfile naming the artefact ``label`` (its folder name as a path
    word, or its file extension)."""
    if label.startswith("*"):
        return re.compile(re.escape(label[1:]) + r"(?![\w-])", re.IGNORECASE)
    name = label.rstrip("/")
    return re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w.-])")


def _needs_git(texts: list[str], ctx) -> bool:
    """Whether a build may read ``.git`` from the context: a Dockerfile names it or runs git
    (other than ``git clone``), or the project's version comes from git."""
    for t in texts:
        if _mention_re(".git").search(t):
            return True
        for m in re.finditer(r"(?<![\w./-])git\s+([\w-]+)", t):
            if m.group(1) not in ("clone", "config", "init", "ls-remote"):
                return True
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        text = ctx.read_context_file(name)
        if text and _SCM_VERSIONING.search(text[:200000]):
            return True
    return False


def _dockerfile_texts(df, ctx, entries) -> list[str] | None:
    """The text of this Dockerfile's instructions and of the other Dockerfiles in the build
    context (they share the .dockerignore); ``None`` when there are too many to judge."""
    own = []
    for ins in df.instructions:
        own.append(ins.line_text.value)
        own.extend(h.content for h in ins.heredocs)
    texts = ["\n".join(own)]
    named = [rel for rel, is_dir in entries
             if not is_dir and _DOCKERFILE_NAME.search(rel.rsplit("/", 1)[-1])]
    if len(named) > _MAX_SIBLINGS + 1:
        return None
    me = os.path.realpath(ctx.source.path) if ctx.source.path not in (None, "-") else None
    siblings = [rel for rel in named if os.path.realpath(os.path.join(ctx.context_dir, rel)) != me]
    if len(siblings) > _MAX_SIBLINGS:
        return None
    for rel in siblings:
        text = ctx.read_context_file(rel)
        if text is not None:
            texts.append(text[:1000000])
    return texts


def _many_dockerfiles(root: str) -> bool:
    """Whether the top of the context holds more Dockerfiles than a fix may judge (a
    collection of them: no fix, and no need to walk the context for one)."""
    n = 0
    try:
        with os.scandir(root) as it:
            for e in it:
                if _DOCKERFILE_NAME.search(e.name):
                    n += 1
                    if n > _MAX_SIBLINGS + 1:
                        return True
    except OSError:
        return False
    return False


def _read_exact(path: str) -> str | None:
    """A file's text exactly as the fixer edits it (newlines kept, BOM dropped), or ``None``."""
    from ..source import BinaryFileError, SourceFile

    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return SourceFile.from_bytes(data, path=path).text
    except (OSError, BinaryFileError, ValueError):
        return None


def _ignore_fix(df, ctx, labels: list[str], entries, existing: str | None, target: str):
    """Write (``existing`` is ``None``) or extend the ignore file ``target`` with the lines of
    ``labels``, leaving out what a Dockerfile of the context names or the build may need;
    ``None`` when nothing is left or the context cannot be judged."""
    from ..fixer import Edit, Fix

    texts = _dockerfile_texts(df, ctx, entries)
    if texts is None:
        return None
    keep = []
    for label in labels:
        if label == ".git":
            if _needs_git(texts, ctx):
                continue
        elif label in ("__pycache__/", ".venv/"):
            # a host virtualenv or bytecode is never what the image needs (an image's own
            # /app/.venv is even clobbered by the host's); only an explicit COPY of it counts
            copy = re.compile(r"^\s*(?:COPY|ADD)\b.*" + _mention_re(label).pattern,
                              re.IGNORECASE | re.MULTILINE)
            if any(copy.search(t) for t in texts):
                continue
        elif any(_mention_re(label).search(t) for t in texts):
            continue
        keep.append(label)
    if not keep:
        return None
    lines = "".join(_IGNORE_LINE.get(label, label) + "\n" for label in keep)
    if existing is None:
        return Fix((Edit(0, 0, lines, path=target),), "safe", "Write .dockerignore")
    text = _read_exact(target)
    if text is None:
        return None
    sep = "\n" if text and not text.endswith(("\n", "\r")) else ""
    name = os.path.basename(target)
    return Fix((Edit(len(text), len(text), sep + lines, path=target),), "safe",
               f"Add {', '.join(keep)} to {name}")


@rule("MLD405")
def dockerignore(df, model, ctx) -> Iterator[Violation]:
    """A broad COPY with no .dockerignore, or one that lets ML artefacts through."""
    if not ctx.context_dir:
        return
    broad = None
    for sm in model.stages:
        for s, cp in _copy_steps(sm):
            if not _from_context(cp):
                continue
            for a in cp.instruction.args:
                v = a.value.rstrip("/")
                if v in (".", "./", "") and a.value and a is not cp.instruction.args[-1]:
                    broad = (cp, a)
                    break
            if broad:
                break
        if broad:
            break
    if broad is None:
        return
    cp, arg = broad
    name = posixpath.basename((ctx.source.path or "Dockerfile").replace(os.sep, "/"))
    text = ctx.read_context_file(".dockerignore")
    own = ctx.read_context_file(name + ".dockerignore")
    if own is not None:
        text = own
    kw = cp.instruction.keyword
    if text is None:
        fix = None
        if not _many_dockerfiles(ctx.context_dir):
            entries = _context_entries(ctx.context_dir)
            present = _missing_artefacts(entries, None)[0]
            labels = [label for label, _, _ in _ARTEFACTS
                      if label in _ALWAYS_IGNORE or label in present]
            fix = _ignore_fix(df, ctx, labels, entries, None,
                              os.path.join(ctx.context_dir, ".dockerignore"))
        yield Violation(
            arg.span,
            f"`{kw} .` copies the whole build context and there is no .dockerignore: .git, "
            "checkpoints, datasets and caches are sent to the builder and end up in the image",
            fix=fix)
        return
    entries = _context_entries(ctx.context_dir)
    missing, examples = _missing_artefacts(entries, dockerignore_spec(text))
    if not missing:
        return
    shown = ", ".join(f"{m} ({examples[m]})" if examples[m] not in (m, m.rstrip("/")) else m
                      for m in missing[:6])
    target = os.path.join(ctx.context_dir, name + ".dockerignore" if own is not None
                          else ".dockerignore")
    yield Violation(
        arg.span,
        f"`{kw} .` copies the whole build context and .dockerignore does not exclude {shown}: "
        "they are sent to the builder and end up in the image",
        fix=_ignore_fix(df, ctx, missing, entries, text, target))


def _missing_artefacts(entries, spec) -> tuple[list[str], dict[str, str]]:
    """Labels of the typical artefacts that exist in the context and ``spec`` does not
    exclude (``None``: no ignore file), in :data:`_ARTEFACTS` order, with an example path of
    each."""
    missing: list[str] = []
    examples: dict[str, str] = {}
    # the patterns are literal names or `*.ext`: a dictionary look-up per entry, not a match
    names = {pat: (label, where) for label, where, pat in _ARTEFACTS if "*" not in pat}
    exts = {pat[1:]: label for label, _, pat in _ARTEFACTS
            if pat.startswith("*.") and "*" not in pat[1:]}
    others = [a for a in _ARTEFACTS if a[2] not in names and a[2][1:] not in exts]
    for rel, is_dir in entries:
        base = rel.rsplit("/", 1)[-1]
        found = []
        hit = names.get(base)
        if hit is not None and (hit[1] == "any" or "/" not in rel):
            found.append(hit[0])
        dot = base.rfind(".")
        if not is_dir and dot > 0 and base[dot:] in exts:
            found.append(exts[base[dot:]])
        for label, where, pat in others:
            if (where == "any" or "/" not in rel) and fnmatch.fnmatchcase(base, pat) and \
                    not (pat.startswith("*") and is_dir):
                found.append(label)
        for label in found:
            if label not in examples and (spec is None or not dockerignore_ignores(spec, rel, is_dir)):
                missing.append(label)
                examples[label] = rel
        if len(missing) == len(_ARTEFACTS):
            break
    order = [label for label, _, _ in _ARTEFACTS]
    missing.sort(key=order.index)
    return missing, examples
