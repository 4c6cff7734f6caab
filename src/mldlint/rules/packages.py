"""Rules: packages (apt-get and pip hygiene: MLD303, MLD304, MLD307, MLD310, MLD311)."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from ..fixer import Edit, Fix, Saving
from ..model.paths import is_under, normalize
from .base import Violation, rule
from .common import source_is, span_of_words

# ------------------------------------------------------------------------------ shared helpers
#: apt front ends whose installs follow Debian's apt configuration
APT_TOOLS = ("apt-get", "apt", "aptitude")
#: apt-get subcommands that read or download the package lists (so leave them behind)
_APT_LIST_VERBS = frozenset({"update", "install", "upgrade", "dist-upgrade", "full-upgrade",
                             "build-dep", "source", "download", "reinstall"})
_APT_LISTS = "/var/lib/apt/lists"
#: packages whose own tooling is not worth pinning or caching (``pip install -U pip``)
_PIP_TOOLING = frozenset({"pip", "setuptools", "wheel"})
_ROOT_USERS = (None, "root", "0", "0:0", "root:root")


def cmd_verb(cmd) -> str | None:
    """First non-option word after the program (``apt-get -y install`` -> ``install``)."""
    skip = False
    for w in cmd.argv[1:]:
        v = w.value
        if v is None:
            return None
        if skip:
            skip = False
            continue
        if v.startswith("-"):
            if v in ("-o", "-c", "-t", "--target-release", "--config-file"):
                skip = True
            continue
        return v
    return None


def _expand_braces(word: str) -> list[str]:
    """Expand one level of simple ``{a,b}`` brace lists (``/var/lib/{apt,dpkg}`` -> two)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not m:
        return [word]
    out = []
    for part in m.group(1).split(","):
        out.extend(_expand_braces(word[:m.start()] + part + word[m.end():]))
    return out


def norm_path(path: str, cwd: str | None = None) -> str:
    """Normalise a path (``~`` as ``/root``; relative paths against ``cwd``, default ``/``)."""
    return normalize(path, cwd or "/") or "/"


def removed_paths(cmd, cwd: str | None = None) -> list[str] | None:
    """Paths an ``rm`` (or ``find P ... -delete``/``-exec rm``) command removes, normalised,
    with a trailing ``/*`` kept as written; ``None`` when the command removes nothing we can
    read (not an rm, or a dynamic operand)."""
    name = cmd.name
    words = cmd.argv[1:]
    if name == "rm":
        out = []
        for w in words:
            if w.value is None:
                if "$" in w.raw:
                    # `rm -rf $HOME/.cache`: read HOME as /root (the usual build user)
                    raw = w.raw.strip("\"'").replace("${HOME}", "/root").replace("$HOME", "/root")
                    if "$" in raw:
                        continue
                    out.extend(_norm_glob(p, cwd) for p in _expand_braces(raw))
                continue
            if w.value.startswith("-"):
                continue
            out.extend(_norm_glob(p, cwd) for p in _expand_braces(w.value))
        return out
    if name == "find":
        vals = [w.text for w in words]
        if "-delete" in vals or ("-exec" in vals and any(v in ("rm", "/bin/rm") for v in vals)):
            roots = []
            for v in vals:
                if v.startswith("-") or v in ("(", "!", ")"):
                    break
                roots.append(_norm_glob(v, cwd))
            return roots
    return None


def _norm_glob(p: str, cwd: str | None) -> str:
    tail = ""
    for suffix in ("/*", "/.*", "/**"):
        if p.endswith(suffix):
            p, tail = p[: -len(suffix)] or "/", "/*"
            break
    return norm_path(p, cwd) + tail if p else tail


def covers(removed: str, path: str) -> bool:
    """Whether removing ``removed`` (a normalised path, maybe ending in ``/*``) deletes
    ``path``'s contents."""
    return is_under(path, removed)


def lists_created(cmd) -> bool:
    """Whether a command downloads the apt package lists (``apt-get update``, or
    ``add-apt-repository`` which runs an update unless ``-n``)."""
    name = cmd.name
    if name in ("apt-get", "apt", "aptitude"):
        return cmd_verb(cmd) == "update"
    if name == "add-apt-repository":
        vals = [w.text for w in cmd.argv[1:]]
        return not any(v in ("-n", "--no-update") for v in vals)
    return False


def _apt_list_user(cmd) -> bool:
    """An apt command that reads or refreshes the lists (update, install, upgrade ...)."""
    if cmd.name in APT_TOOLS:
        return cmd_verb(cmd) in _APT_LIST_VERBS
    return lists_created(cmd)


def lists_left_behind(step) -> tuple[object, object] | None:
    """For a RUN step that downloads the apt lists and does not delete them after its last
    apt command: ``(update_command, last_apt_command)``; else ``None`` (also with a cache or
    tmpfs mount on the lists)."""
    cmds = step.commands
    updates = [c for c in cmds if lists_created(c)]
    if not updates:
        return None
    if step.has_cache_mount(_APT_LISTS):
        return None
    last = max(i for i, c in enumerate(cmds) if _apt_list_user(c))
    for c in cmds[last + 1:]:
        rm = removed_paths(c)
        if rm and any(covers(r, _APT_LISTS + "/x") for r in rm):
            return None
        if rm is not None and any("$" in w.raw for w in c.argv[1:]):
            return None  # a removal we cannot read: stay quiet
    return updates[0], cmds[last]


# ------------------------------------------------------------------------------------- MLD303
_RECOMMENDS_OFF = re.compile(r"Install-Recommends\W+(?:false|0|no)\b", re.I)


def _recommends_configured_off(sm) -> bool:
    """An earlier RUN (or COPY into /etc/apt) in the lineage configures apt not to install
    recommends, e.g. ``echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/...``."""
    for st in sm.lineage():
        for step in st.steps:
            ins = step.instruction
            if ins.keyword == "RUN" and _RECOMMENDS_OFF.search(
                    ins.line_text.value + "".join(h.content for h in ins.heredocs)):
                return True
        for cp in st.copies:
            if cp.dest.startswith("/etc/apt"):
                return True
    return False


@rule("MLD303")
def apt_no_install_recommends(df, model, ctx) -> Iterator[Violation]:
    """apt-get/apt install without --no-install-recommends."""
    for sm in model.stages:
        if not model.ships(sm):
            continue
        configured = None
        for step in sm.runs():
            for a in step.apt:
                if a.tool not in ("apt-get", "apt") or a.no_install_recommends:
                    continue
                words = [w for w in a.command.argv[1:] if w.span.start > a.install_word.span.start
                         and not w.text.startswith("-")]
                if not words:
                    continue  # `apt-get install -f`: nothing new is installed
                if configured is None:
                    configured = _recommends_configured_off(sm)
                if configured:
                    break
                names = [p.name for p in a.packages] or [w.text.split("=")[0] for w in words]
                shown = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
                fix = None
                iw = a.install_word
                if source_is(ctx, iw.span, "install"):
                    fix = Fix(edits=(Edit(iw.span.end, iw.span.end, " --no-install-recommends"),),
                              applicability="safe", title="Add --no-install-recommends",
                              saves=_apt_saving(model, sm, "apt recommends", names))
                yield Violation(
                    span_of_words(a.command.argv[0], iw),
                    f"{a.tool} install of {shown} without --no-install-recommends also installs "
                    "every recommended package (often tens to hundreds of MB)", fix=fix)


# ------------------------------------------------------------------------------------- MLD304
#: Debian releases other than 12 (bookworm), named in tags: the apt figures are Debian 12's
_OTHER_DEBIAN_RE = re.compile(r"\b(buster|bullseye|trixie|forky|stretch|jessie|sid)\b")


def _debian_12_based(sm) -> bool:
    """The stage's base is known to be Debian (debian, python and node images but their
    alpine variants) and its tag names no release other than 12 (bookworm): the apt size
    figures are Debian 12's."""
    facts = sm.facts
    ref = sm.lineage()[-1].base
    if facts is None or ref is None:
        return False
    tag = ref.tag or ""
    return facts.family in ("debian", "python", "node") and "alpine" not in tag and \
        not _OTHER_DEBIAN_RE.search(tag) and not re.match(r"(9|10|11|13)\b", tag)


def _apt_saving(model, sm, kind: str, packages: list[str] | None = None) -> Saving | None:
    """The Debian 12 figure for ``kind`` (``apt recommends`` of ``packages``, or ``apt
    lists``) on a stage of the final image based on Debian 12, else ``None``."""
    if not _in_final_image(model, sm) or not _debian_12_based(sm):
        return None
    from ..knowledge import sizes

    n = sizes.apt_recommends(packages or []) if kind == "apt recommends" else sizes.apt_lists()
    return Saving(n, kind) if n else None


def append_fix(ctx, cmd, text: str, title: str, saves: Saving | None = None) -> Fix | None:
    """A fix appending ``text`` right after ``cmd`` when that is unambiguous: a top-level
    command of the RUN (not inside ``sh -c``, a substitution or a pipeline) followed by the end
    of the script, ``&&``, ``;`` or a line continuation."""
    if cmd.shell_span is not None or cmd.in_substitution or cmd.background:
        return None
    src = ctx.source.text
    end = cmd.span.end
    first = cmd.argv[0]
    if not source_is(ctx, first.span, first.raw):
        return None
    rest = src[end:]
    m = re.match(r"[ \t]*(?:\\\r?\n[ \t]*)*(.?.?)", rest)
    nxt = m.group(1) if m else ""
    if not (nxt == "" or nxt.startswith(("\n", "\r", ";")) or nxt == "&&"):
        return None
    return Fix(edits=(Edit(end, end, text),), applicability="safe", title=title, saves=saves)


@rule("MLD304")
def apt_lists_not_removed(df, model, ctx) -> Iterator[Violation]:
    """apt-get update in a RUN that leaves /var/lib/apt/lists behind."""
    for sm in model.stages:
        if not model.ships(sm, _APT_LISTS):
            continue
        for step in sm.runs():
            found = lists_left_behind(step)
            if found is None:
                continue
            update, last = found
            fix = append_fix(ctx, last, " && rm -rf /var/lib/apt/lists/*",
                              "Remove /var/lib/apt/lists after the last apt-get",
                              saves=_apt_saving(model, sm, "apt lists"))
            what = f"{update.name} update" if update.name != "add-apt-repository" else \
                "add-apt-repository (which runs apt-get update)"
            verb = next((w for w in update.argv[1:] if w.text == "update"), update.argv[0])
            yield Violation(
                span_of_words(update.argv[0], verb),
                f"{what} leaves the package lists in /var/lib/apt/lists (about 20-50 MB) in this "
                "layer: add `rm -rf /var/lib/apt/lists/*` after the last apt-get command of the "
                "same RUN", fix=fix)


# ------------------------------------------------------------------------------------- MLD307
#: package -> what it asks (packages that pull tzdata in say so)
_PROMPTING = {
    "tzdata": "the time zone",
    "keyboard-configuration": "the keyboard layout",
    "console-setup": "the console keyboard and font",
    "krb5-user": "the Kerberos realm",
    "krb5-config": "the Kerberos realm",
    "postfix": "the mail server type",
    "software-properties-common": "the time zone (it pulls in tzdata)",
    "python3-opencv": "the time zone (it pulls in tzdata)",
    "libopencv-dev": "the time zone (it pulls in tzdata)",
    "r-base": "the time zone (it pulls in tzdata)",
}
_TZ_ONLY = frozenset({"tzdata", "software-properties-common", "python3-opencv",
                      "libopencv-dev", "r-base"})


def _prompt_of(name: str) -> str | None:
    if name in _PROMPTING:
        return _PROMPTING[name]
    if name.startswith("texlive"):
        return "the time zone (it pulls in tzdata)"
    return None


def _noninteractive_before(sm, step, cmd) -> tuple[bool, bool]:
    """(frontend made noninteractive, time zone preseeded) before ``cmd`` of ``step``: ENV/ARG,
    the command's own prefix, ``export DEBIAN_FRONTEND=noninteractive`` earlier in the RUN,
    ``debconf-set-selections`` or an /etc/localtime + /etc/timezone setup earlier in the RUN
    or in an earlier RUN of the lineage."""
    fe = step.env.get("DEBIAN_FRONTEND", "")
    if "DEBIAN_FRONTEND" in step.env and (fe is None or fe.lower() == "noninteractive"):
        return True, True
    if cmd.assignments.get("DEBIAN_FRONTEND", "").lower() == "noninteractive":
        return True, True
    tz = False
    for st in sm.lineage():
        for s in st.runs():
            if s is not step and st is sm and sm.steps.index(s) > sm.steps.index(step):
                continue
            for c in s.commands:
                if s is step and c.span.start >= cmd.span.start:
                    break
                vals = [w.text for w in c.argv]
                if c.name == "export" and "DEBIAN_FRONTEND=noninteractive" in vals and s is step:
                    return True, True
                if c.name == "debconf-set-selections":
                    return True, True
                if any("/etc/localtime" in v or "/etc/timezone" in v for v in vals) or any(
                        "/etc/timezone" in (r.target.text if r.target else "")
                        for r in c.redirects):
                    tz = True
    return False, tz


UBUNTU_CODENAMES = {
    "precise": 12.04, "quantal": 12.10, "raring": 13.04, "saucy": 13.10, "trusty": 14.04,
    "utopic": 14.10, "vivid": 15.04, "wily": 15.10, "xenial": 16.04, "yakkety": 16.10,
    "zesty": 17.04, "artful": 17.10, "bionic": 18.04, "cosmic": 18.10, "disco": 19.04,
    "eoan": 19.10, "focal": 20.04, "groovy": 20.10, "hirsute": 21.04, "impish": 21.10,
    "jammy": 22.04, "kinetic": 22.10, "lunar": 23.04, "mantic": 23.10, "noble": 24.04,
    "oracular": 24.10, "plucky": 25.04,
}


def ubuntu_release(sm) -> float | None:
    """The Ubuntu release under the stage (ubuntu, nvidia/cuda ``-ubuntuXX.YY`` and the
    pytorch images, which are Ubuntu 18.04 or newer), ``None`` when unknown or not Ubuntu."""
    base = sm.root_base
    if base is None:
        return None
    repo, tag = base.repository, (base.tag or "latest").lower()
    if repo == "ubuntu":
        if tag in ("latest", "rolling", "devel"):
            return 99.0
        m = re.match(r"^(\d+)\.(\d+)", tag)
        if m:
            return float(f"{m.group(1)}.{m.group(2)}")
        return UBUNTU_CODENAMES.get(tag.split("-")[0])
    m = re.search(r"ubuntu(\d+)\.(\d+)", tag)
    if m and repo in ("nvidia/cuda", "nvcr.io/nvidia/cuda"):
        return float(f"{m.group(1)}.{m.group(2)}")
    if repo == "pytorch/pytorch":
        return 18.04
    return None


def _tzdata_may_prompt(sm) -> bool:
    """tzdata is not preinstalled in the base, so installing it (or something that pulls it
    in) asks for the time zone: Ubuntu 18.04 and newer images dropped tzdata; Debian and the
    official python images ship it; unknown bases are given the benefit of the doubt."""
    rel = ubuntu_release(sm)
    return rel is not None and rel >= 18.04


@rule("MLD307")
def apt_interactive_prompt(df, model, ctx) -> Iterator[Violation]:
    """apt-get install of a package that asks questions, without a noninteractive frontend."""
    for sm in model.stages:
        tz_installed = not _tzdata_may_prompt(sm)
        for step in sm.runs():
            for a in step.apt:
                if a.tool not in APT_TOOLS:
                    continue
                hits = [(p, _prompt_of(p.name)) for p in a.packages if _prompt_of(p.name)]
                if not hits:
                    continue
                quiet, tz_seeded = _noninteractive_before(sm, step, a.command)
                if quiet:
                    continue
                if tz_installed or tz_seeded:
                    hits = [(p, q) for p, q in hits
                            if p.name not in _TZ_ONLY and not p.name.startswith("texlive")]
                if not hits:
                    continue
                first = hits[0][0]
                desc = "; ".join(f"{p.name} asks for {q}" for p, q in hits[:4])
                fix = None
                prog = a.command.argv[0]
                if source_is(ctx, prog.span, prog.raw):
                    fix = Fix(edits=(Edit(prog.span.start, prog.span.start,
                                          "DEBIAN_FRONTEND=noninteractive "),),
                              applicability="safe",
                              title="Prefix the install with DEBIAN_FRONTEND=noninteractive")
                yield Violation(
                    first.span,
                    f"{a.tool} install prompts during configuration ({desc}) and "
                    "DEBIAN_FRONTEND=noninteractive is not set: the build hangs waiting for an "
                    "answer", fix=fix)


# ------------------------------------------------------------------------------------- MLD310
def _pip_cache_dirs(step) -> list[str]:
    """Folders pip may use as its cache for this step's user."""
    env = step.env
    out = []
    if env.get("PIP_CACHE_DIR"):
        out.append(norm_path(env["PIP_CACHE_DIR"]))
    xdg = env.get("XDG_CACHE_HOME")
    if xdg:
        out.append(norm_path(xdg) + "/pip")
    user = step.user
    if user in _ROOT_USERS:
        out.append("/root/.cache/pip")
    home = env.get("HOME")
    if home:
        out.append(norm_path(home) + "/.cache/pip")
    if user not in _ROOT_USERS:
        name = user.split(":")[0]
        out.append(f"/home/{name}/.cache/pip")
    return out


def _pip_config_disables_cache(sm, step) -> bool:
    """A pip config file setting no-cache-dir (``pip config set global.no-cache-dir``, an
    ``echo`` into pip.conf) or an unknown pip.conf copied in, earlier in the lineage."""
    for st in sm.lineage():
        for s in st.steps:
            if st is sm and s is step:
                break
            ins = s.instruction
            if ins.keyword == "RUN":
                text = ins.line_text.value + "".join(h.content for h in ins.heredocs)
                if re.search(r"no[-_]cache[-_]dir", text, re.I) and re.search(
                        r"pip\.conf|pip config|PIP_CONFIG", text):
                    return True
            elif ins.keyword in ("COPY", "ADD") and re.search(r"pip\.(conf|ini)", " ".join(
                    ins.values)):
                return True
    return "PIP_CONFIG_FILE" in step.env


def _cache_removed_after(step, cmd, dirs: list[str]) -> bool:
    """The same RUN removes the pip cache (``pip cache purge``, ``rm -rf ~/.cache``) after
    ``cmd``."""
    seen = False
    for c in step.commands:
        if c is cmd:
            seen = True
            continue
        if not seen:
            continue
        from ..parser import shell as sh

        args = sh.pip_args(c)
        if args is not None:
            vals = [w.text for w in args]
            if vals[:2] in (["cache", "purge"], ["cache", "remove"]):
                return True
            continue
        rm = removed_paths(c)
        if rm and any(covers(r, d + "/x") for r in rm for d in dirs):
            return True
    return False


def pip_cache_written(sm, step, p) -> str | None:
    """Where ``pip install`` ``p`` of ``step`` leaves its cache in the layer, or ``None`` when it
    does not (``--no-cache-dir``, ``PIP_NO_CACHE_DIR`` set, a cache/tmpfs mount on the cache
    folder, a pip config that disables it, the cache removed later in the same RUN)."""
    if p.kind != "pip" or p.no_cache_dir:
        return None
    env = dict(step.env)
    env.update(p.command.assignments)
    # pip reads PIP_NO_CACHE_DIR with strtobool and disables the cache for *any* valid value,
    # false/0/off included (a historical quirk it keeps); other values are an error.
    if "PIP_NO_CACHE_DIR" in env:
        return None
    opts = p.options
    dirs = _pip_cache_dirs(step)
    for o in opts:
        if o.startswith("--cache-dir="):
            val = o.split("=", 1)[1]
            if "$" in val or val in ("/dev/null", ""):
                return None
            dirs = [norm_path(val, step.workdir)]
    if step.has_cache_mount(*dirs):
        return None
    if _pip_config_disables_cache(sm, step):
        return None
    if _cache_removed_after(step, p.command, dirs):
        return None
    return dirs[0]


def _only_tooling(p) -> bool:
    """``pip install -U pip`` (with setuptools/wheel at most), nothing else."""
    return (bool(p.packages) and all(r.name in _PIP_TOOLING for r in p.packages)
            and not p.requirement_files and not p.local)


@rule("MLD310")
def pip_no_cache_dir(df, model, ctx) -> Iterator[Violation]:
    """pip install that writes its download cache into the layer."""
    for sm in model.stages:
        for step in sm.runs():
            for p in step.pip:
                if _only_tooling(p):
                    continue
                where = pip_cache_written(sm, step, p)
                if where is None or not model.ships(sm, where):
                    continue
                iw = p.install_word
                fix = None
                if source_is(ctx, iw.span, "install"):
                    fix = Fix(edits=(Edit(iw.span.end, iw.span.end, " --no-cache-dir"),),
                              applicability="safe", title="Add --no-cache-dir",
                              saves=_pip_cache_saving(model, sm, p))
                what = _pip_what(p)
                # the size note only where large wheels can be involved
                cost = "" if p.no_deps and not p.packages else \
                    " (for a CUDA build of torch alone over 2 GB)"
                yield Violation(
                    span_of_words(p.command.argv[0], iw),
                    f"pip install of {what} without --no-cache-dir keeps every downloaded wheel "
                    f"in {where} in this layer{cost}",
                    fix=fix)


def _in_final_image(model, sm) -> bool:
    """``sm`` is the final stage or one it is built FROM: its layers are the image ``docker
    build`` produces (a builder or test stage is not, even when it could be a ``--target``)."""
    final = model.final
    return final is not None and any(sm is st for st in final.lineage())


def _pip_cache_saving(model, sm, p) -> Saving | None:
    """What ``--no-cache-dir`` keeps out of the final image: the download size of the named
    packages the knowledge base knows (torch with the build the model found), else ``None``."""
    from ..knowledge.sizes import wheel_download

    if not _in_final_image(model, sm):
        return None

    builds = {id(f.ref): f.build for f in sm.frameworks() if f.pip is p}
    total = 0
    for ref in p.packages:
        if ref.url or _kept_from_base(sm, p, ref):
            continue
        total += wheel_download(ref.name, builds.get(id(ref))) or 0
    return Saving(total, "pip cache") if total else None


def _pip_what(p) -> str:
    names = [r.name for r in p.packages]
    names += [f"-r {f}" for f in p.requirement_files]
    names += p.local
    if not names:
        return "packages"
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


# ------------------------------------------------------------------------------------- MLD311
def _pinned(ref) -> bool:
    if ref.pinned:
        return True
    url = ref.url or ""
    if url and (re.search(r"\.git@[^/#\s]+", url) or re.search(r"@[0-9a-f]{7,40}\b", url)
                or re.search(r"/(archive|tarball|zipball)/", url) or re.search(
                    r"\.(whl|tar\.gz|zip)$", url)):
        return True
    return False


def _kept_from_base(sm, p, ref) -> bool:
    """The base image already has a framework (pytorch/pytorch's torch) that satisfies the
    requirement, and pip keeps it (no ``-U``): the build does not float."""
    cuda = sm.cuda
    if cuda is None or cuda.framework is None or p.upgrade:
        return False
    name, version = cuda.framework
    if ref.name != name:
        return False
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) in SpecifierSet(ref.specifier or "")
    except (InvalidSpecifier, InvalidVersion):
        return False


@rule("MLD311")
def pip_unpinned(df, model, ctx) -> Iterator[Violation]:
    """pip install of named packages without an exact version."""
    for sm in model.stages:
        for step in sm.runs():
            for p in step.pip:
                if p.constraint_files:
                    continue
                env = dict(step.env)
                env.update(p.command.assignments)
                if env.get("PIP_CONSTRAINT") or env.get("UV_CONSTRAINT"):
                    continue
                loose = [r for r in p.packages if not _pinned(r) and r.name not in _PIP_TOOLING
                         and not _kept_from_base(sm, p, r)]
                if not loose:
                    continue
                names = ", ".join(r.raw for r in loose[:8]) + (
                    f" and {len(loose) - 8} more" if len(loose) > 8 else "")
                tool = "uv pip install" if p.kind == "uv" else "pip install"
                yield Violation(
                    loose[0].span,
                    f"{tool} of unpinned {'package' if len(loose) == 1 else 'packages'} "
                    f"{names}: each build gets whatever is newest that day; pin exact versions "
                    f"(e.g. {loose[0].name}==X.Y.Z) or use a requirements or constraints file")


__all__: Iterable[str] = ()
