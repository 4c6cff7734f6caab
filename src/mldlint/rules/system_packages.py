"""Rules: base-image references and system package managers (catalogue parity with hadolint,
BuildKit and Trivy): MLD202, MLD205, MLD206, MLD207 (FROM), MLD301, MLD302, MLD305, MLD306,
MLD308 (apt), MLD314 (PEP 668), MLD322 (conda), MLD330 (apk), MLD331 (yum/dnf), MLD332
(npm/yarn), MLD340 (curl/wget), MLD341 (pipefail).

Helpers shared with :mod:`mldlint.rules.packages`, :mod:`mldlint.rules.base_image` and
:mod:`mldlint.rules.python_env` are imported from there, not re-implemented.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Iterable, Iterator

from ..fixer import Edit, Fix
from ..parser import shell as sh
from ..parser.nodes import Span
from .base import Violation, rule
from .base_image import image_arg, looks_real_image
from .common import source_is, span_of_words
from .packages import (
    append_fix,
    APT_TOOLS,
    cmd_verb,
    covers,
    removed_paths,
    UBUNTU_CODENAMES,
    ubuntu_release,
)
from .python_env import conda_verb


# ------------------------------------------------------------------------------ shared helpers
def _external_stages(model):
    """``(stage model, FROM image argument)`` of each stage built on an external image whose
    reference is fully known (no unresolved variable, not an earlier stage, not scratch, not a
    template placeholder)."""
    for sm in model.stages:
        arg = image_arg(sm)
        ref = sm.base
        if arg is None or ref is None or sm.parent is not None or not sm.base_complete:
            continue
        if ref.repository == "scratch" or not looks_real_image(ref.raw):
            continue
        yield sm, arg, ref


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _registry_of(raw: str) -> tuple[str, str]:
    """``(registry host, path)`` of an image reference as Docker reads it: the first component
    is a registry when it holds a ``.`` or ``:`` or is ``localhost``; otherwise the image
    comes from Docker Hub (``docker.io``)."""
    name = raw.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name = name[:colon]
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = first.lower()
        if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
            host = "docker.io"
        return host, rest.lower()
    path = name.lower()
    if "/" not in path:
        path = "library/" + path
    return "docker.io", path


# ------------------------------------------------------------------------------------- MLD202
@rule("MLD202")
def base_image_no_digest(df, model, ctx) -> Iterator[Violation]:
    """FROM an image by tag without an ``@sha256:`` digest (off by default)."""
    for sm, arg, ref in _external_stages(model):
        if ref.digest:
            continue
        shown = ref.raw
        yield Violation(
            arg.span,
            f"base image `{shown}` is referenced by tag only: the registry can move the tag to "
            f"a different image at any time; pin it as `{shown}@sha256:<digest>` (keep the tag "
            "for readers) for reproducible builds")


# ------------------------------------------------------------------------------------- MLD205
@lru_cache(maxsize=1)
def _eol_data() -> dict:
    from ..knowledge import load_yaml

    return load_yaml("eol.yaml")


def _as_date(v) -> datetime.date:
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    return datetime.date.fromisoformat(str(v))


def _eol_of(product: str, version: str) -> tuple[str, datetime.date, str] | None:
    """``(label, end-of-life date, source)`` when ``product`` ``version`` is in the table."""
    prod = _eol_data()["products"].get(product)
    if prod is None:
        return None
    when = prod["releases"].get(version)
    if when is None:
        return None
    return prod["label"], _as_date(when), prod["source"]


_PY_TAG = re.compile(r"^(\d+)(?:\.(\d+))?")
_OFFICIAL_DEBIAN_BASED = frozenset({
    "python", "node", "debian", "buildpack-deps", "ruby", "golang", "openjdk", "php", "perl",
    "rust", "gcc", "r-base", "haskell", "erlang", "elixir", "julia", "pypy", "maven",
    "gradle", "tomcat", "httpd", "nginx", "postgres", "mysql", "redis", "eclipse-temurin",
    "amazoncorretto", "clojure", "swift", "dart", "mongo", "rabbitmq", "ubuntu"})


def _cuda_removed(tag: str) -> str | None:
    """Why an ``nvidia/cuda`` tag is no longer on Docker Hub, or ``None``."""
    data = _eol_data()["cuda_removed"]
    m = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?(?=-|$)", tag)
    if not m:
        return None
    major = int(m.group(1))
    version = m.group(0)
    if major < int(data["below_major"]):
        return f"CUDA {version} images (CUDA 10 and older) were all deleted"
    if m.group(3) is None and data.get("two_part_versions") and major <= 11:
        return (f"tags with a two-part CUDA version such as `{tag}` were deleted in favour of "
                f"the full version (e.g. `{version}.x-...`)")
    if version in data["versions"]:
        return (f"CUDA {version} was superseded by a later patch release of {m.group(1)}."
                f"{m.group(2)} and its tags were deleted")
    return None


def _eol_reasons(ref) -> list[tuple[str, datetime.date | None, str]]:
    """``(what, end-of-life date or None for a deleted image, source)`` for each end-of-life
    release the image reference shows."""
    repo = ref.repository
    tag = (ref.tag or "latest").lower()
    out: list[tuple[str, datetime.date | None, str]] = []
    data = _eol_data()
    parts = tag.split("-")
    official = "/" not in repo
    if repo in ("nvidia/cuda", "nvcr.io/nvidia/cuda"):
        why = _cuda_removed(tag)
        if why is not None:
            out.append((why, None, data["cuda_removed"]["source"]))
    # language runtimes whose version is the tag's first component
    if repo in ("python", "pypy") or repo == "node":
        m = _PY_TAG.match(tag)
        product = "python" if repo != "node" else "node"
        version = None
        if m and repo == "node":
            version = m.group(1)
        elif m and m.group(2) is not None and repo == "python":
            version = f"{m.group(1)}.{m.group(2)}"
        elif m and repo == "python" and m.group(1) == "2":
            version = "2.7"
        if repo == "node" and version is None:
            version = data["products"]["node"]["codenames"].get(parts[0])
        if version is not None:
            found = _eol_of(product, version)
            if found:
                out.append((f"{found[0]} {version}", found[1], found[2]))
    # the distribution under the image
    if repo == "ubuntu" or (official and repo in _OFFICIAL_DEBIAN_BASED) or repo in (
            "nvidia/cuda", "nvcr.io/nvidia/cuda"):
        dist = None
        if repo == "ubuntu":
            m = re.match(r"^(\d+\.\d+)", tag)
            if m:
                dist = ("ubuntu", m.group(1))
            elif parts[0] in UBUNTU_CODENAMES:
                dist = ("ubuntu", f"{UBUNTU_CODENAMES[parts[0]]:.2f}")
        elif repo == "debian":
            m = re.match(r"^(\d+)(?:[.-]|$)", tag)
            if m:
                dist = ("debian", m.group(1))
        elif repo in ("nvidia/cuda", "nvcr.io/nvidia/cuda"):
            m = re.search(r"ubuntu(\d+\.\d+)", tag)
            c = re.search(r"(?:centos|rockylinux)(\d+)", tag)
            if m:
                dist = ("ubuntu", m.group(1))
            elif c and "centos" in c.group(0):
                dist = ("centos", c.group(1))
        if dist is None:
            for p in parts:
                if p in data["debian_codenames"]:
                    dist = ("debian", data["debian_codenames"][p])
                    break
                if p in UBUNTU_CODENAMES and repo != "ubuntu":
                    dist = ("ubuntu", f"{UBUNTU_CODENAMES[p]:.2f}")
                    break
        if dist is not None:
            found = _eol_of(*dist)
            if found:
                names = {v: k for k, v in data["debian_codenames"].items()}
                shown = f"{dist[1]} ({names[dist[1]]})" if dist[0] == "debian" and \
                    dist[1] in names else dist[1]
                out.append((f"{found[0]} {shown}", found[1], found[2]))
    if repo == "centos":
        m = re.match(r"^(?:centos)?(\d+)", tag)
        if m:
            found = _eol_of("centos", m.group(1))
            if found:
                out.append((f"{found[0]} {m.group(1)}", found[1], found[2]))
    return out


@rule("MLD205")
def end_of_life_base(df, model, ctx) -> Iterator[Violation]:
    """Base image release past its end of life on the knowledge base's snapshot date."""
    snapshot = _as_date(_eol_data()["snapshot"])
    for sm, arg, ref in _external_stages(model):
        if ref.tag is None or ref.tag == "latest":
            continue  # MLD201's business; `latest` is a current release
        reasons = [(w, d, s) for w, d, s in _eol_reasons(ref) if d is None or d <= snapshot]
        if not reasons:
            continue
        said = []
        for what, when, source in reasons:
            if when is None:
                said.append(f"{what}, so the image can no longer be pulled ({source})")
            else:
                said.append(f"{what} reached its end of life on {when.isoformat()} ({source})")
        yield Violation(
            arg.span,
            f"base image `{ref.raw}`: " + "; ".join(said) +
            f" (mldlint's end-of-life table as of {snapshot.isoformat()}): it gets no more "
            "security fixes; move to a supported release")


# ------------------------------------------------------------------------------------- MLD206
@rule("MLD206")
def untrusted_registry(df, model, ctx) -> Iterator[Violation]:
    """Base image from a registry not in the configured ``trusted-registries``."""
    trusted = ctx.options.get("trusted-registries") or []
    if not trusted:
        return
    allowed = []
    for t in trusted:
        t = str(t).strip().rstrip("/").lower()
        if not t:
            continue
        host, _, path = t.partition("/")
        if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com",
                    "hub.docker.com"):
            host = "docker.io"
        allowed.append((host, path))
    if not allowed:
        return
    for sm, arg, ref in _external_stages(model):
        host, path = _registry_of(ref.raw)
        ok = False
        for a_host, a_path in allowed:
            if a_host != host:
                continue
            if not a_path or path == a_path or path.startswith(a_path + "/") or (
                    a_host == "docker.io" and "library/" + a_path == path):
                ok = True
                break
        if ok:
            continue
        shown = ", ".join(str(t) for t in trusted)
        yield Violation(
            arg.span,
            f"base image `{ref.raw}` comes from {host}"
            f"{'' if host != 'docker.io' else ' (Docker Hub)'}, which is not in the configured "
            f"trusted registries ({shown})")


# ------------------------------------------------------------------------------------- MLD207
def _flag_removal_end(text: str, flag) -> int:
    end = flag.span.end
    while end < len(text) and text[end] in " \t":
        end += 1
    return end


@rule("MLD207")
def platform_flag(df, model, ctx) -> Iterator[Violation]:
    """``FROM --platform=`` with a constant, or the redundant ``$TARGETPLATFORM``."""
    text = ctx.source.text
    for st in df.stages:
        ins = st.from_
        if ins is None or ins.swallowed:
            continue
        flag = ins.flag("platform")
        if flag is None or not flag.value:
            continue
        value = flag.value.strip()
        if value in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
            fix = None
            raw = text[flag.span.start:flag.span.end]
            if raw.startswith("--") and "TARGETPLATFORM" in raw:
                fix = Fix(edits=(Edit(flag.span.start, _flag_removal_end(text, flag), ""),),
                          applicability="safe", title="Remove the redundant --platform flag")
            yield Violation(
                flag.span,
                f"`{raw}` is redundant: a stage is built for the target platform by default",
                fix=fix)
            continue
        if "$" in value:
            continue  # $BUILDPLATFORM and other variables are how cross builds are written
        plat = value.lower().split(",")[0]
        bits = [b for b in plat.split("/") if b]
        name = (st.name or "").lower()
        if name and any(b in name for b in bits if b not in ("linux", "v7", "v8", "v6")) or (
                name and bits and bits[0] != "linux" and bits[0] in name):
            continue  # a stage meant for one platform (BuildKit's own exception)
        yield Violation(
            flag.span,
            f"`FROM --platform={value}` hard-codes the platform: the image cannot be built "
            "for other platforms (`docker build --platform` is ignored for this stage); leave "
            "it out, use `$BUILDPLATFORM` for build tools, or name the stage after the platform")


# ------------------------------------------------------------------------------------- MLD301
_APT_LIST_READERS = frozenset({"install", "upgrade", "dist-upgrade", "full-upgrade",
                               "build-dep", "source", "download", "reinstall", "satisfy"})


def _is_apt_update(cmd) -> bool:
    return cmd.name in ("apt-get", "apt") and cmd_verb(cmd) == "update"


def _apt_verb(cmd) -> str | None:
    return cmd_verb(cmd) if cmd.name in APT_TOOLS else None


def _script_is_only(step, cmd) -> bool:
    """The RUN's script consists of ``cmd`` alone (shell form, no heredoc)."""
    ins = step.instruction
    if ins.is_json or ins.heredocs or ins.flags or len(step.commands) != 1:
        return False
    return step.commands[0] is cmd and cmd.shell_span is None


@rule("MLD301")
def apt_update_alone(df, model, ctx) -> Iterator[Violation]:
    """``apt-get update`` in a RUN without an install, followed by installs in later RUNs."""
    text = ctx.source.text
    for sm in model.stages:
        runs = list(sm.runs())
        for k, step in enumerate(runs):
            cmds = step.commands
            updates = [c for c in cmds if _is_apt_update(c)]
            if not updates:
                continue
            if any(_apt_verb(c) in _APT_LIST_READERS for c in cmds):
                continue
            if step.has_cache_mount("/var/lib/apt/lists"):
                continue
            later = None
            for s2 in runs[k + 1:]:
                inst = next((a for a in s2.apt if a.tool in ("apt-get", "apt")), None)
                if inst is not None:
                    later = (s2, inst)
                    break
            if later is None:
                continue
            upd = updates[0]
            verb = next((w for w in upd.argv[1:] if w.text == "update"), upd.argv[0])
            fix = _merge_fix(text, sm, step, upd, later)
            line = ctx.source.position(later[1].command.span.start)[0]
            yield Violation(
                span_of_words(upd.argv[0], verb),
                f"`{upd.name} update` runs in a RUN without an install: its layer is cached, so "
                f"the install on line {line} can later run against stale package lists (404s "
                "for versions the archive removed); run `apt-get update && apt-get install ...` "
                "in the same RUN", fix=fix)


def _merge_fix(text: str, sm, step, upd, later) -> Fix | None:
    """Unsafe fix: delete the lone ``RUN apt-get update`` and prefix the install of the next
    instruction (when it is that RUN and starts with the install) with ``apt-get update &&``."""
    s2, inst = later
    if not _script_is_only(step, upd):
        return None
    ins, nxt = step.instruction, s2.instruction
    if nxt.index != ins.index + 1 or nxt.is_json or nxt.heredocs:
        return None
    between = text[ins.span.end:nxt.span.start]
    if between.strip():
        return None
    cmds = s2.commands
    if not cmds or cmds[0] is not inst.command or inst.command.shell_span is not None:
        return None
    start = inst.command.span.start
    if text[nxt.rest.span().start:start].strip():
        return None
    upd_text = text[upd.span.start:upd.span.end]
    if "\n" in upd_text or "\\" in upd_text:
        return None
    ls = _line_start(text, ins.span.start)
    if text[ls:ins.span.start].strip():
        return None
    return Fix(edits=(Edit(ls, _line_start(text, nxt.span.start), ""),
                      Edit(start, start, upd_text + " && ")),
               applicability="unsafe",
               title="Merge apt-get update into the following install RUN")


# ------------------------------------------------------------------------------------- MLD302
_ASSUME_YES_CONF = re.compile(r"Assume-Yes\W+(?:true|1|yes)\b", re.I)


def _lineage_text_matches(sm, step, pattern: re.Pattern) -> bool:
    """An earlier RUN of the lineage (or this one) mentions ``pattern`` (apt/pip/yum
    configuration written to a file)."""
    for st in sm.lineage():
        for s in st.runs():
            ins = s.instruction
            if pattern.search(ins.line_text.value + "".join(h.content for h in ins.heredocs)):
                return True
            if s is step:
                break
    return False


def _apt_assume_yes(a) -> bool:
    if a.assume_yes:
        return True
    opts = a.options
    if any(o in ("--force-yes", "-qq", "--quiet=2", "-q=2") for o in opts):
        return True
    return any(_ASSUME_YES_CONF.search(w.text) for w in a.command.argv[1:])


def _piped_yes(step, cmd) -> bool:
    """``yes | apt-get install ...``: answers come from a pipe."""
    script = step.script
    for p in getattr(script, "pipelines", []) or []:
        if any(c is cmd for c in p.stages[-1] if len(p.stages) > 1) and any(
                c.name in ("yes", "echo", "printf") for st in p.stages[:-1] for c in st):
            return True
    return False


@rule("MLD302")
def apt_missing_yes(df, model, ctx) -> Iterator[Violation]:
    """apt-get install without -y."""
    for sm in model.stages:
        configured = None
        for step in sm.runs():
            for a in step.apt:
                if a.tool not in ("apt-get", "apt") or _apt_assume_yes(a):
                    continue
                if not a.packages and not [w for w in a.command.argv[1:]
                                           if w.span.start > a.install_word.span.start
                                           and not w.text.startswith("-")]:
                    continue
                if _piped_yes(step, a.command):
                    continue
                if configured is None:
                    configured = _lineage_text_matches(sm, step, _ASSUME_YES_CONF)
                if configured:
                    break
                iw = a.install_word
                fix = None
                if source_is(ctx, iw.span, "install"):
                    fix = Fix(edits=(Edit(iw.span.end, iw.span.end, " -y"),),
                              applicability="safe", title="Add -y")
                names = ", ".join(p.name for p in a.packages[:6]) or "packages"
                yield Violation(
                    span_of_words(a.command.argv[0], iw),
                    f"{a.tool} install of {names} without -y: apt asks \"Do you want to "
                    "continue?\" when it needs more packages, and with no terminal in `docker "
                    "build` the answer is no, so the build fails", fix=fix)


# ------------------------------------------------------------------------------------- MLD305
@rule("MLD305")
def apt_unpinned(df, model, ctx) -> Iterator[Violation]:
    """apt-get install of packages without ``=version``."""
    for sm in model.stages:
        for step in sm.runs():
            for a in step.apt:
                if a.tool not in ("apt-get", "apt"):
                    continue
                loose = [p for p in a.packages if p.version is None and not _is_deb_file(p.raw)
                         and "/" not in p.raw and not p.raw.endswith(("-", "+"))]
                if not loose:
                    continue
                names = ", ".join(p.name for p in loose[:8]) + (
                    f" and {len(loose) - 8} more" if len(loose) > 8 else "")
                yield Violation(
                    loose[0].span,
                    f"{a.tool} install of {names} without a version (`{loose[0].name}=<version>`): "
                    "each build installs whatever the archive has that day")


def _is_deb_file(raw: str) -> bool:
    return raw.endswith(".deb") or raw.startswith((".", "/"))


# ------------------------------------------------------------------------------------- MLD306
#: apt subcommands whose apt-get spelling does the same thing
_APT_GET_SAME = frozenset({"install", "update", "remove", "purge", "autoremove", "autoclean",
                           "clean", "dist-upgrade", "build-dep", "source", "download",
                           "reinstall", "satisfy", "check", "changelog", "auto-remove",
                           "autopurge"})
_APT_CACHE_SAME = frozenset({"search", "show", "policy", "depends", "rdepends", "showsrc"})


@rule("MLD306")
def apt_not_apt_get(df, model, ctx) -> Iterator[Violation]:
    """``apt`` in a RUN (its command line interface is not stable)."""
    for sm in model.stages:
        for step in sm.runs():
            for cmd in step.commands:
                if cmd.name != "apt" or cmd.argv[0].value is None:
                    continue
                verb = cmd_verb(cmd)
                if verb is None:
                    continue
                prog = cmd.argv[0]
                fix = None
                replacement = "apt-get" if verb in _APT_GET_SAME else (
                    "apt-cache" if verb in _APT_CACHE_SAME else None)
                if replacement and source_is(ctx, prog.span, "apt") and not \
                        step.instruction.is_json:
                    fix = Fix(edits=(Edit(prog.span.start, prog.span.end, replacement),),
                              applicability="safe", title=f"Use {replacement}")
                use = replacement or "apt-get/apt-cache"
                yield Violation(
                    prog.span,
                    f"`apt {verb}` in a build script: apt is meant for people at a terminal and "
                    f"its output and options may change between releases (it warns \"apt does "
                    f"not have a stable CLI interface\"); use `{use}`", fix=fix)


# ------------------------------------------------------------------------------------- MLD308
@rule("MLD308")
def apt_upgrade(df, model, ctx) -> Iterator[Violation]:
    """apt-get upgrade / dist-upgrade in a Dockerfile."""
    for sm in model.stages:
        for step in sm.runs():
            for cmd in step.commands:
                if cmd.name not in ("apt-get", "apt", "aptitude"):
                    continue
                verb = cmd_verb(cmd)
                if verb not in ("upgrade", "dist-upgrade", "full-upgrade", "safe-upgrade"):
                    continue
                w = next((x for x in cmd.argv[1:] if x.text == verb), cmd.argv[0])
                yield Violation(
                    span_of_words(cmd.argv[0], w),
                    f"`{cmd.name} {verb}` makes the image depend on the day it was built (each "
                    "build upgrades to whatever is newest): prefer a newer base image tag, "
                    "rebuilt regularly, for security updates")


# ------------------------------------------------------------------------------------- MLD314
_DEBIAN_MANAGED = {"bookworm": 12, "trixie": 13, "forky": 14, "sid": 99, "testing": 99,
                   "unstable": 99, "stable": 12, "latest": 12}
_STD_PATH = frozenset({"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin",
                       "/bin", ""})
_SYSTEM_PIP = re.compile(r"^(?:/usr/bin/|/bin/)?(?:pip3?|python3?)$")
_BREAK_RE = re.compile(r"break[-_]system[-_]packages|EXTERNALLY-MANAGED", re.I)
_OTHER_PYTHONS = re.compile(r"conda|mamba|miniforge|pyenv|virtualenv|uv python|/opt/venv|"
                            r"(?<![-\w])venv\b|get-pip|deadsnakes|python-build-standalone|asdf", re.I)


def _externally_managed_base(sm) -> str | None:
    """A description of the stage's base when its distribution marks the apt Python as
    externally managed (Debian 12+, Ubuntu 23.04+), else ``None``."""
    base = sm.root_base
    if base is None or base.digest and not base.tag:
        return None
    repo, tag = base.repository, (base.tag or "latest").lower()
    if repo == "debian":
        first = tag.split("-")[0]
        m = re.match(r"^(\d+)(?:\.\d+)*$", first)
        if m:
            return f"Debian {m.group(1)}" if int(m.group(1)) >= 12 else None
        if first in _DEBIAN_MANAGED:
            dated = re.search(r"(20\d{6})", tag)
            if dated and first in ("sid", "testing", "unstable") and dated.group(1) < "20230101":
                return None  # a dated snapshot from before Debian adopted PEP 668
            return f"Debian {first}"
        return None
    if repo in ("ubuntu", "nvidia/cuda", "nvcr.io/nvidia/cuda"):
        rel = ubuntu_release(sm)
        if rel is not None and rel >= 23.04 and rel != 99.0:
            return f"Ubuntu {rel:.2f}"
        if rel == 99.0 and repo == "ubuntu":
            return f"Ubuntu ({tag}, 24.04 or newer)"
        return None
    return None


def _apt_python_before(sm, step) -> bool:
    """python3-pip comes from apt in the lineage at or before ``step``."""
    for st in reversed(sm.lineage()):
        for s in st.runs():
            for a in s.apt:
                if a.tool in APT_TOOLS and any(p.name in ("python3-pip", "python3-pip-whl")
                                               or p.name == "python-pip" for p in a.packages):
                    return True
            if s is step:
                return False
    return False


def _venv_path(env) -> bool:
    """PATH names a folder besides the system ones and CUDA's (a venv or conda would be
    there)."""
    path = env.get("PATH")
    if not path:
        return False
    for part in path.split(":"):
        p = part.rstrip("/")
        if p in _STD_PATH or p.startswith("$") or p.startswith("/usr/local/cuda") or \
                p.startswith("/usr/local/nvidia"):
            continue
        return True
    return False


def _activated_before(step, cmd) -> bool:
    """Earlier in the same RUN: a venv is created or activated, or conda is activated."""
    for c in step.commands:
        if c is cmd:
            return False
        if c.name in (".", "source") and any("activate" in w.text for w in c.argv[1:]):
            return True
        if c.name in ("conda", "mamba", "micromamba", "pyenv", "virtualenv", "uv"):
            return True
        if c.name and re.match(r"python", c.name) and any(
                w.text in ("venv", "virtualenv") for w in c.argv[1:]):
            return True
        if c.name == "export" and any(w.text.startswith(("VIRTUAL_ENV=", "PATH=",
                                                           "PIP_BREAK_SYSTEM_PACKAGES="))
                                      for w in c.argv[1:]):
            return True
    return False


def _other_python_in_lineage(sm, step) -> bool:
    """An earlier RUN or COPY brings another Python or a pip configuration (conda, pyenv, a
    venv, pip.conf, --break-system-packages, EXTERNALLY-MANAGED removed)."""
    for st in reversed(sm.lineage()):
        for s in st.steps:
            ins = s.instruction
            if ins.keyword == "RUN":
                body = ins.line_text.value + "".join(h.content for h in ins.heredocs)
                if _BREAK_RE.search(body):
                    return True
                if s is not step and _OTHER_PYTHONS.search(body):
                    return True
            elif ins.keyword in ("COPY", "ADD"):
                joined = " ".join(ins.values)
                if re.search(r"pip\.conf|EXTERNALLY|venv|conda", joined, re.I) or \
                        ins.flag("from") is not None and re.search(r"python|venv", joined):
                    return True
            if s is step:
                return False
    return False


@rule("MLD314")
def pep668_system_python(df, model, ctx) -> Iterator[Violation]:
    """pip install into Debian 12+/Ubuntu 23.04+'s externally managed apt Python."""
    for sm in model.stages:
        where = _externally_managed_base(sm)
        if where is None:
            continue
        if sm.shell and not re.search(r"(^|/)(ba|da)?sh$", sm.shell[0] if sm.shell else ""):
            continue
        for step in sm.runs():
            for p in step.pip:
                cmd = p.command
                if p.kind != "pip" or cmd.wrappers and any(
                        w.startswith(("conda", "mamba", "micromamba", "poetry", "pipenv", "pdm",
                                      "pixi", "uv")) for w in cmd.wrappers):
                    continue
                prog = cmd.argv[0].value or ""
                if not _SYSTEM_PIP.match(prog):
                    continue
                if any(o.startswith(("--break-system-packages", "--target", "-t=", "--prefix",
                                     "--root", "--dry-run")) for o in p.options) or p.target \
                        or p.prefix:
                    continue
                env = dict(step.env)
                env.update(cmd.assignments)
                if any(k in env for k in ("PIP_BREAK_SYSTEM_PACKAGES", "VIRTUAL_ENV",
                                          "PIP_TARGET", "PIP_PREFIX", "CONDA_PREFIX",
                                          "PIP_CONFIG_FILE", "PYENV_ROOT")):
                    continue
                if _venv_path(env) or _activated_before(step, cmd):
                    continue
                if not _apt_python_before(sm, step):
                    continue
                if _other_python_in_lineage(sm, step):
                    continue
                what = ", ".join(r.name for r in p.packages[:5]) or (
                    f"-r {p.requirement_files[0]}" if p.requirement_files else "packages")
                yield Violation(
                    span_of_words(cmd.argv[0], p.install_word),
                    f"pip install of {what} into the system Python of the {where} base "
                    "(python3-pip from apt): that Python is marked externally managed (PEP 668), "
                    "so pip stops with `error: externally-managed-environment` and the build "
                    "fails; install into a virtualenv (`python3 -m venv /opt/venv` and "
                    "`/opt/venv/bin/pip install ...`), use the python3-* apt packages, or add "
                    "--break-system-packages if you accept the risk")


# ------------------------------------------------------------------------------------- MLD322
_CONDA_VALUE_OPTS = frozenset({"-c", "--channel", "-n", "--name", "-p", "--prefix", "--file", "-f",
                               "--solver", "--repodata-fn", "--experimental", "-r",
                               "--root-prefix", "--rc-file", "--platform", "--subdir",
                               "--override-frozen", "--chdir"})
_CONDA_TOOLING = frozenset({"conda", "mamba", "pip", "conda-libmamba-solver", "conda-build",
                            "micromamba"})


@rule("MLD322")
def conda_unpinned(df, model, ctx) -> Iterator[Violation]:
    """conda/mamba/micromamba install of packages without a version."""
    for sm in model.stages:
        for step in sm.runs():
            for cmd in step.commands:
                v = conda_verb(cmd)
                if v is None or v[0] != "install":
                    continue
                verb_word = v[1]
                words = cmd.argv[1:]
                start = next(i for i, w in enumerate(words) if w is verb_word) + 1
                loose = []
                skip = False
                for w in words[start:]:
                    if skip:
                        skip = False
                        continue
                    t = w.value
                    if t is None:
                        continue
                    if t.startswith("-"):
                        if "=" not in t and t in _CONDA_VALUE_OPTS:
                            skip = True
                        continue
                    if any(ch in t for ch in "=<>!~*@") or "/" in t.split("::")[-1] or \
                            t.endswith((".tar.bz2", ".conda")):
                        continue
                    name = t.split("::")[-1].split("[")[0]
                    if name.lower() in _CONDA_TOOLING or not re.match(r"^[A-Za-z0-9_.-]+$",
                                                                       name):
                        continue
                    loose.append((name, w))
                if not loose:
                    continue
                names = ", ".join(n for n, _ in loose[:8]) + (
                    f" and {len(loose) - 8} more" if len(loose) > 8 else "")
                yield Violation(
                    loose[0][1].span,
                    f"{cmd.name} install of {names} without a version "
                    f"(`{loose[0][0]}=<version>`): the solver picks whatever is newest on the "
                    "channel that day")


# ------------------------------------------------------------------------------------- MLD330
_APK_CACHE = "/var/cache/apk"


@rule("MLD330")
def apk_no_cache(df, model, ctx) -> Iterator[Violation]:
    """apk add without --no-cache."""
    for sm in model.stages:
        if not model.ships(sm, _APK_CACHE):
            continue
        for step in sm.runs():
            if step.has_cache_mount(_APK_CACHE, "/etc/apk/cache"):
                continue
            for a in step.apt:
                if a.tool != "apk" or "--no-cache" in a.options or "--no-network" in a.options:
                    continue
                if not a.packages and any(
                        b.tool == "apk" and "--no-cache" in b.options
                        and b.command.span.start < a.command.span.start for b in step.apt):
                    # `apk add --virtual .rundeps $runDeps` after `apk add --no-cache ...`:
                    # the run-time libraries of what was just built, already installed
                    continue
                if _removed_later(step, a.command, (_APK_CACHE + "/x", "/etc/apk/cache/x")):
                    continue
                iw = a.install_word
                fix = None
                if source_is(ctx, iw.span, "add"):
                    fix = Fix(edits=(Edit(iw.span.end, iw.span.end, " --no-cache"),),
                              applicability="safe", title="Add --no-cache")
                names = ", ".join(p.name for p in a.packages[:6]) or "packages"
                yield Violation(
                    span_of_words(a.command.argv[0], iw),
                    f"apk add of {names} without --no-cache leaves the package index in "
                    f"{_APK_CACHE} in this layer; `apk add --no-cache` fetches it without "
                    "storing it", fix=fix)


def _removed_later(step, cmd, paths: Iterable[str]) -> bool:
    """The same RUN removes one of ``paths`` after ``cmd`` (``rm -rf /var/cache/apk/*``)."""
    seen = False
    for c in step.commands:
        if c is cmd:
            seen = True
            continue
        if not seen:
            continue
        rm = removed_paths(c)
        if rm and any(covers(r, p) for r in rm for p in paths):
            return True
        if rm is not None and any("$" in w.raw for w in c.argv[1:]):
            return True  # a removal we cannot read
    return False


# ------------------------------------------------------------------------------------- MLD331
_RPM_TOOLS = ("yum", "dnf", "microdnf", "dnf5", "tdnf")
_RPM_CACHES = ("/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5", "/var/cache/tdnf")
_RPM_YES_CONF = re.compile(r"assumeyes\s*=\s*(1|true|yes)", re.I)


def _rpm_cleans(cmd) -> bool:
    if cmd.name in _RPM_TOOLS:
        vals = [w.text for w in cmd.argv[1:] if not w.text.startswith("-")]
        return vals[:2] == ["clean", "all"] or vals[:1] == ["clean"] and "all" in vals
    rm = removed_paths(cmd)
    return bool(rm) and any(covers(r, c + "/x") for r in rm for c in _RPM_CACHES)


@rule("MLD331")
def yum_dnf_clean(df, model, ctx) -> Iterator[Violation]:
    """yum/dnf/microdnf install without ``clean all`` in the same RUN, or without ``-y``."""
    for sm in model.stages:
        ships = model.ships(sm, "/var/cache/yum") or model.ships(sm, "/var/cache/dnf")
        yes_conf = None
        for step in sm.runs():
            installs = [a for a in step.apt if a.tool in _RPM_TOOLS]
            if not installs:
                continue
            # -y: yum and dnf ask "Is this ok [y/N]" and, with no terminal, stop
            for a in installs:
                if a.tool not in ("yum", "dnf", "dnf5", "tdnf"):
                    continue
                if sh.has_flag(a.options, "y", ("assumeyes", "yes")):
                    continue
                if not a.packages:
                    continue
                if yes_conf is None:
                    yes_conf = _lineage_text_matches(sm, step, _RPM_YES_CONF)
                if yes_conf or _piped_yes(step, a.command):
                    continue
                iw = a.install_word
                fix = None
                if source_is(ctx, iw.span, iw.raw) and iw.raw in ("install", "in"):
                    fix = Fix(edits=(Edit(iw.span.end, iw.span.end, " -y"),),
                              applicability="safe", title="Add -y")
                yield Violation(
                    span_of_words(a.command.argv[0], iw),
                    f"{a.tool} install of {', '.join(p.name for p in a.packages[:6])} without "
                    f"-y: {a.tool} asks \"Is this ok [y/N]\" and, with no terminal in `docker "
                    "build`, the install stops and the build fails", fix=fix)
            if not ships or step.has_cache_mount(*_RPM_CACHES):
                continue
            cmds = step.commands
            last_i = max(i for i, c in enumerate(cmds) if any(c is a.command for a in installs))
            if any(_rpm_cleans(c) for c in cmds[last_i + 1:]):
                continue
            if any(c.name in ("rm",) and any("$" in w.raw for w in c.argv[1:])
                   for c in cmds[last_i + 1:]):
                continue
            last = installs[-1]
            tool = "dnf" if last.tool == "dnf5" else last.tool
            fix = append_fix(ctx, cmds[last_i], f" && {tool} clean all",
                              f"Add {tool} clean all after the last {tool} command")
            first = installs[0]
            yield Violation(
                span_of_words(first.command.argv[0], first.install_word),
                f"{first.tool} install without `{tool} clean all` in the same RUN: the package "
                f"metadata and cache (often 100 MB or more) stay in this layer", fix=fix)


# ------------------------------------------------------------------------------------- MLD332
_NPM_CACHES = ("/root/.npm", "/root/.cache/yarn", "/usr/local/share/.cache/yarn",
               "/root/.yarn", "/root/.cache/npm", "/home")


def _js_install(cmd) -> str | None:
    """``"npm install"``/``"npm ci"``/``"yarn install"``/``"yarn add"``/``"yarn"`` for a command
    that downloads packages into the npm or yarn cache, else ``None``."""
    if cmd.name not in ("npm", "yarn"):
        return None
    vals = [w.value for w in cmd.argv[1:]]
    if any(v is None for v in vals):
        return None
    subs = [v for v in vals if not v.startswith("-")]
    if cmd.name == "npm":
        if subs and subs[0] in ("install", "i", "ci", "add", "isntall", "in"):
            return f"npm {subs[0]}"
        return None
    if not subs:
        return "yarn" if not any(v in ("--version", "-v", "--help", "-h") for v in vals) \
            else None
    if subs[0] in ("install", "add"):
        return f"yarn {subs[0]}"
    if subs[0] == "global" and len(subs) > 1 and subs[1] == "add":
        return "yarn global add"
    return None


def _js_cache_cleaned(cmd) -> bool:
    if cmd.name in ("npm", "yarn"):
        vals = [w.text for w in cmd.argv[1:] if not w.text.startswith("-")]
        return vals[:2] in (["cache", "clean"], ["cache", "clear"], ["cache", "rm"])
    if cmd.name == "rm":
        return any(re.search(r"npm|yarn|\.cache", w.raw) for w in cmd.argv[1:])
    return False


@rule("MLD332")
def npm_yarn_cache(df, model, ctx) -> Iterator[Violation]:
    """npm/yarn install without cache cleanup or a cache mount."""
    for sm in model.stages:
        if not model.ships(sm):
            continue
        for step in sm.runs():
            if any(m.type in ("cache", "tmpfs") and m.target and re.search(
                    r"npm|yarn|\.cache", m.target) for m in step.mounts):
                continue
            env = step.env
            if any(k in env for k in ("npm_config_cache", "NPM_CONFIG_CACHE",
                                      "YARN_CACHE_FOLDER")):
                continue
            cmds = step.commands
            for i, cmd in enumerate(cmds):
                what = _js_install(cmd)
                if what is None:
                    continue
                if any(k in cmd.assignments for k in ("npm_config_cache", "NPM_CONFIG_CACHE",
                                                      "YARN_CACHE_FOLDER")):
                    continue
                if any(w.text.startswith(("--cache", "--cache-folder", "--prefer-offline",
                                          "--offline")) for w in cmd.argv[1:]):
                    continue
                if any(_js_cache_cleaned(c) for c in cmds[i + 1:]):
                    continue
                tool = cmd.name
                clean = "npm cache clean --force" if tool == "npm" else "yarn cache clean"
                where = "~/.npm" if tool == "npm" else "the yarn cache folder"
                yield Violation(
                    span_of_words(cmd.argv[0], cmd.argv[min(1, len(cmd.argv) - 1)]),
                    f"`{what}` leaves its download cache in {where} in this layer (often tens "
                    f"to hundreds of MB): add `&& {clean}` in the same RUN or use a BuildKit "
                    "cache mount")
                break


# ------------------------------------------------------------------------------------- MLD340
_CURL_FAIL = ("fail", "fail-with-body")
_CHECKSUMS = frozenset({"sha256sum", "sha512sum", "sha1sum", "md5sum", "shasum", "b2sum",
                        "gpg", "gpgv", "cosign", "minisign", "openssl"})


def _curl_saves(cmd) -> bool:
    """``curl`` writes the response to a file (``-o``/``-O``/``--output``, or stdout
    redirected to a file)."""
    words = [w.text for w in cmd.argv[1:]]
    if sh.has_flag(words, None, ("output", "remote-name", "remote-name-all",
                                 "output-dir")):
        return True
    for t in words:
        if t.startswith("-") and not t.startswith("--") and re.match(r"^-[a-zA-Z]*[oO]", t):
            return True
    return any(r.op in (">", ">>", ">|") and r.fd in (None, "1") and r.target is not None
               and r.target.text not in ("/dev/null", "/dev/stderr") for r in cmd.redirects)


def _in_pipeline_feeding(step, cmd):
    """The pipeline stage after ``cmd`` when ``cmd`` feeds a pipe, else ``None``."""
    for p in getattr(step.script, "pipelines", []) or []:
        for i, st in enumerate(p.stages[:-1]):
            if any(c is cmd for c in st):
                return p.stages[i + 1]
    return None


def _verified_after(step, cmd) -> bool:
    seen = False
    for c in step.commands:
        if c is cmd:
            seen = True
            continue
        if seen and c.name in _CHECKSUMS:
            return True
    return False


def _curl_flag_fix(ctx, cmd) -> Fix | None:
    prog = cmd.argv[0]
    if not source_is(ctx, prog.span, "curl"):
        return None
    if len(cmd.argv) > 1:
        nxt = cmd.argv[1]
        if re.match(r"^-[A-Za-z]+$", nxt.text) and source_is(ctx, nxt.span, nxt.text):
            return Fix(edits=(Edit(nxt.span.start + 1, nxt.span.start + 1, "f"),),
                       applicability="safe", title="Add -f to curl")
    return Fix(edits=(Edit(prog.span.end, prog.span.end, " -f"),), applicability="safe",
               title="Add -f to curl")


_SMALL_FILE = re.compile(r"\.(asc|sig|sign|sha256|sha512|sha1|md5|sha256sum|gpg|pub|key|pem|"
                         r"crt)$", re.I)


def _gnu_wget(sm) -> bool | None:
    """True when wget in this image is GNU wget (installed with a package manager, or in a
    full Debian-based official image), False for busybox wget (alpine without a wget
    package), None when unknown."""
    if any(p.name == "wget" for st in sm.lineage() for s in st.runs() for a in s.apt
           for p in a.packages):
        return True
    facts = sm.facts
    if facts is None:
        return None
    if facts.family == "alpine" or (sm.root_base and "alpine" in (sm.root_base.tag or "")):
        return False
    if "wget" in facts.has:
        return True
    return None


@rule("MLD340")
def curl_wget_hygiene(df, model, ctx) -> Iterator[Violation]:
    """curl without -f where an error page would be used, both curl and wget installed, wget
    without a quiet progress setting."""
    for sm in model.stages:
        gnu = None
        for step in sm.runs():
            for cmd in step.commands:
                if cmd.in_substitution:
                    continue
                if cmd.name == "curl":
                    words = [w.text for w in cmd.argv[1:]]
                    if any(w.value is None and w.raw.startswith("$") for w in cmd.argv[1:2]):
                        continue
                    if sh.has_flag(words, "f", _CURL_FAIL) or sh.has_flag(
                            words, ("w", "I"), ("write-out", "head", "config")) or \
                            sh.has_flag(words, "K", ()):
                        continue
                    feeds = _in_pipeline_feeding(step, cmd)
                    saves = _curl_saves(cmd)
                    if feeds is None and not saves:
                        continue
                    if _verified_after(step, cmd) or (feeds and any(
                            c.name in _CHECKSUMS for c in feeds)):
                        continue
                    how = (f"piped into `{feeds[0].name}`" if feeds and feeds[0].name
                           else "saved to a file")
                    yield Violation(
                        cmd.argv[0].span,
                        f"curl without -f (--fail) {how}: on an HTTP error (404, 500) curl "
                        "exits 0 and the error page is used as the download; add -f so the "
                        "build stops there", fix=_curl_flag_fix(ctx, cmd))
                elif cmd.name == "wget":
                    words = [w.text for w in cmd.argv[1:]]
                    if sh.has_flag(words, ("q", "o", "a"), ("quiet", "no-verbose", "progress",
                                                            "output-file", "append-output",
                                                            "show-progress", "spider")) or \
                            "-nv" in words or any(w.startswith("-nv") for w in words):
                        continue
                    if any(_SMALL_FILE.search(w.raw.strip("'\"")) for w in cmd.argv[1:]):
                        continue  # a signature, checksum or key: a line of dots at most
                    if gnu is None:
                        gnu = _gnu_wget(sm)
                    if gnu is False:
                        continue  # busybox wget prints one progress line
                    fix = None
                    prog = cmd.argv[0]
                    if gnu and source_is(ctx, prog.span, "wget"):
                        fix = Fix(edits=(Edit(prog.span.end, prog.span.end,
                                              " --progress=dot:giga"),),
                                  applicability="safe", title="Add --progress=dot:giga")
                    yield Violation(
                        cmd.argv[0].span,
                        "wget without --progress=dot:giga (or -q/-nv): without a terminal it "
                        "prints a line of dots for every 50 KB downloaded, flooding the build "
                        "log", fix=fix)
        # both installed
        installed: dict[str, object] = {}
        for st in reversed(sm.lineage()):
            for s in st.runs():
                for a in s.apt:
                    for p in a.packages:
                        if p.name in ("curl", "wget") and p.name not in installed:
                            installed[p.name] = p
        used = {c.name for st in sm.lineage() for s in st.runs() for c in s.commands
                if c.name in ("curl", "wget")}
        if len(installed) == 2 and len(used) == 2 and model.ships(sm):
            own = [p for p in installed.values() if any(
                p is q for s in sm.runs() for a in s.apt for q in a.packages)]
            if own:
                later = max(own, key=lambda p: p.span.start)
                other = "wget" if later.name == "curl" else "curl"
                yield Violation(
                    later.span,
                    f"both curl and wget are installed in this image ({later.name} here, "
                    f"{other} too) and both are used to download: one downloader is enough; "
                    "use one of them everywhere")


# ------------------------------------------------------------------------------------- MLD341
#: commands that fail only in ways that do not matter when they feed a pipe (or for which
#: pipefail would be wrong: `yes` and `grep` exit non-zero by design)
_SAFE_PRODUCERS = frozenset({
    "echo", "printf", "yes", "true", "cat", "seq", "env", "printenv", "ls", "find", "grep",
    "egrep", "fgrep", "sort", "uniq", "head", "tail", "cut", "awk", "gawk", "mawk", "sed",
    "tr", "wc", "tee", "dpkg", "dpkg-query", "dpkg-architecture", "apt-cache", "apt-mark",
    "ldd", "which", "command", "type", "id", "date", "uname", "nproc", "basename", "dirname",
    "readlink", "realpath", "sha256sum", "sha512sum", "md5sum", "sha1sum", "lsb_release",
    "getconf", "ldconfig", "jq", "base64", "od", "xxd", "rev", "column", "fold", "nl", "paste",
    "scanelf", "objdump", "readelf", "file", "stat", "du", "df", "ps", "hostname", "xargs",
    "comm", "join", "diff", "locale", "export", "set", "test", "[", "[[", ":", "rpm",
    "tac", "strings", "expr", "whoami", "getent"})


def _risky_pipeline(p) -> object | None:
    """The first command feeding a pipe whose failure a POSIX shell would hide (a download, a
    build, a script), or ``None`` when every producer is harmless."""
    if any(c.in_substitution for c in p.commands):
        return None
    last = p.stages[-1]
    if last and last[0].name in ("grep", "egrep", "fgrep") and not sh.has_flag(
            [w.text for w in last[0].argv[1:]], "v", "invert-match"):
        return None  # a failed producer prints nothing, so grep fails too
    if last and last[0].name == "head":
        return None  # pipefail would fail on the producer's SIGPIPE
    for st in p.stages[:-1]:
        for c in st:
            if c.name is None:
                continue
            if c.name not in _SAFE_PRODUCERS:
                return c
    return None


def _shell_has_pipefail(shell: list[str] | None) -> bool:
    if not shell:
        return False
    vals = list(shell)
    for i, v in enumerate(vals):
        if v.startswith("-") and "o" in v[1:] and i + 1 < len(vals) and vals[i + 1] == "pipefail":
            return True
        if v == "pipefail":
            return True
    return False


def _posix_shell(shell: list[str] | None) -> bool:
    if not shell:
        return True
    prog = shell[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
    return prog in ("sh", "bash", "dash", "ash", "zsh", "ksh", "mksh")


@rule("MLD341")
def pipefail(df, model, ctx) -> Iterator[Violation]:
    """RUN with a pipe whose earlier stages can fail unnoticed (no pipefail)."""
    text = ctx.source.text
    for sm in model.stages:
        base = sm.root_base
        if base is not None and re.search(r"windows|nanoserver|servercore",
                                          base.repository + ":" + (base.tag or "")):
            continue
        shell = sm.parent.shell if sm.parent is not None else None
        fixed_stage = False
        for step in sm.steps:
            ins = step.instruction
            if ins.keyword == "SHELL":
                shell = ins.values
                continue
            if ins.keyword != "RUN" or ins.swallowed or step.script is None or ins.is_json:
                continue
            if not _posix_shell(shell) or _shell_has_pipefail(shell):
                continue
            hit = None
            for p in step.script.pipelines:
                if "pipefail" in p.options:
                    continue
                c = _risky_pipeline(p)
                if c is not None:
                    hit = (p, c)
                    break
            if hit is None:
                continue
            p, c = hit
            bash = sm.has_program("bash")
            fix = None
            if not fixed_stage:
                ls = _line_start(text, ins.span.start)
                indent = text[ls:ins.span.start]
                if not indent.strip():
                    if bash and (not shell or shell[0].endswith("sh")):
                        fix = Fix(edits=(Edit(ls, ls, indent + 'SHELL ["/bin/bash", "-o", '
                                              '"pipefail", "-c"]\n'),),
                                  applicability="safe",
                                  title="Run RUN commands with bash -o pipefail")
                    elif bash is not True:
                        start = step.script.commands[0].span.start if step.script.commands \
                            else None
                        if start is not None and start == ins.rest.span().start:
                            fix = Fix(edits=(Edit(start, start, "set -o pipefail && "),),
                                      applicability="suggest",
                                      title="Turn on pipefail for this RUN (the image has "
                                            "no bash)")
                fixed_stage = fix is not None and fix.applicability == "safe"
            last = p.stages[-1][0].name if p.stages[-1] else None
            yield Violation(
                Span(p.span.start, p.span.end) if p.span.end - p.span.start < 200 else
                c.argv[0].span,
                f"`{c.name}` feeds a pipe{f' into `{last}`' if last else ''} without "
                "`set -o pipefail`: if it fails, the RUN still succeeds when the last command "
                "does, and the build goes on with a broken result", fix=fix)
