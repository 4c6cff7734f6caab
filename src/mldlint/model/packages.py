"""Package installs found in RUN commands: pip (any spelling, incl. ``uv pip``), apt-get/apt,
apk, yum/dnf/microdnf. Versions and specifiers are read with ``packaging``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..parser.nodes import Span
from .expand import expand

# pip options that take a value (the next word unless written --opt=value)
_PIP_VALUE_OPTS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
    "--upgrade-strategy", "--platform", "--python-version", "--implementation", "--abi",
    "--src", "-C", "--config-settings", "--global-option", "--install-option",
    "--trusted-host", "--cache-dir", "--progress-bar", "--log", "--log-file", "--timeout",
    "--retries", "--proxy", "--exists-action", "--no-binary", "--only-binary", "--report",
    "--python", "--cert", "--client-cert", "--keyring-provider", "--root-user-action",
    "--use-feature", "--use-deprecated", "--group", "--torch-backend", "-p", "--index",
    "--default-index", "--index-strategy", "--resolution", "--prerelease", "--link-mode",
    "--python-platform", "--extra",
})
_WHEEL_RE = re.compile(r"\.(whl|tar\.gz|zip|tgz)$", re.I)
_URL_RE = re.compile(r"^[a-z+]+://|^git\+|^file:", re.I)
#: a bare project name, optionally pinned to a plain release (parsed without packaging, whose
#: import costs start-up time; the result is the same).
_SIMPLE_REQ_RE = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:==([0-9]+(?:\.[0-9]+)*))?\Z")


@dataclass
class PackageRef:
    """One package named on an install command line.

    Attributes:
        name: canonical name (PEP 503 normalised for pip: ``opencv_python`` -> ``opencv-python``;
            as written for apt).
        raw: the word as written (value after shell quote removal).
        span: source span of the word.
        specifier: the version specifier text (``==2.1.0``, ``>=1,<2``; ``""`` when none).
        version: the exact pinned version (``2.1.0+cu121`` for ``==2.1.0+cu121`` or
            apt ``=1.2-3``), else ``None``.
        extras: extras (``tensorflow[and-cuda]`` -> ``("and-cuda",)``).
        url: a direct reference (``pkg @ https://...``, a wheel path, a VCS URL), else ``None``.
    """

    name: str
    raw: str
    span: Span
    specifier: str = ""
    version: str | None = None
    extras: tuple[str, ...] = ()
    url: str | None = None

    @property
    def pinned(self) -> bool:
        """Exact version (``==``, ``===``, ``~=``), or a URL/wheel file that fixes a version."""
        if self.version is not None:
            return True
        if "~=" in self.specifier or "===" in self.specifier:
            return True
        return self.url is not None and bool(re.search(r"\d+\.\d+", self.url))


@dataclass
class PipInstall:
    """One ``pip install`` (or ``uv pip install``) command.

    Attributes:
        command: the shell :class:`~mldlint.parser.shell.Command`.
        kind: ``"pip"`` or ``"uv"``.
        packages: named requirements (not files, not local paths).
        requirement_files, constraint_files: ``-r``/``-c`` values.
        local: local paths and editables (``.``, ``-e .``, ``./pkg``).
        index_url, extra_index_urls: from the options or ``PIP_INDEX_URL``/
            ``PIP_EXTRA_INDEX_URL`` (or ``UV_INDEX_URL``/``UV_EXTRA_INDEX_URL``) in effect.
        user: ``--user``; no_cache_dir: ``--no-cache-dir`` (or ``--no-cache`` for uv);
        upgrade: ``-U``/``--upgrade``; no_deps: ``--no-deps``.
        install_word: the ``install`` word (fixes insert options after it).
    """

    command: object
    kind: str
    install_word: object
    packages: list[PackageRef] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    user: bool = False
    no_cache_dir: bool = False
    upgrade: bool = False
    no_deps: bool = False
    target: str | None = None
    prefix: str | None = None
    options: list[str] = field(default_factory=list)


@dataclass
class AptInstall:
    """One ``apt-get install`` (or ``apt install``, ``apk add``, ``yum``/``dnf``/``microdnf``
    install) command. ``tool`` is the program name; ``packages`` have ``version`` set for
    ``pkg=1.2`` pins."""

    command: object
    tool: str
    install_word: object
    packages: list[PackageRef] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    @property
    def assume_yes(self) -> bool:
        """``-y``/``--yes``/``--assume-yes``/``-qq`` given."""
        from ..parser.shell import has_flag

        return has_flag(self.options, "y", ("yes", "assume-yes")) or "-qq" in self.options

    @property
    def no_install_recommends(self) -> bool:
        """``--no-install-recommends`` (or ``-o APT::Install-Recommends=false``) given."""
        opts = self.options
        return "--no-install-recommends" in opts or any(
            "install-recommends=false" in o.lower() or "install-recommends=0" in o.lower()
            for o in opts)


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name (lower case, runs of ``-_.`` become ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(raw: str, span: Span) -> PackageRef | None:
    """A :class:`PackageRef` for a requirement word (``torch==2.1.0+cu121``,
    ``tensorflow[and-cuda]>=2.15``, ``pkg @ url``), or ``None`` when it is not a named
    requirement (a path, URL without name, or unparsable)."""
    text = raw.strip()
    if not text or text.startswith("-"):
        return None
    if _URL_RE.match(text) or _WHEEL_RE.search(text) and "/" in text or text.startswith((".", "/", "~")):
        m = re.search(r"#egg=([A-Za-z0-9_.-]+)", text)
        wheel = re.search(r"([A-Za-z0-9_.]+)-(\d[^-/]*)-[^/]*\.whl$", text)
        if wheel:
            return PackageRef(canonical_name(wheel.group(1)), raw, span, f"=={wheel.group(2)}",
                              wheel.group(2), (), text)
        if m:
            return PackageRef(canonical_name(m.group(1)), raw, span, "", None, (), text)
        return None
    if _WHEEL_RE.search(text):
        wheel = re.search(r"([A-Za-z0-9_.]+)-(\d[^-/]*)-[^/]*\.whl$", text)
        if wheel:
            return PackageRef(canonical_name(wheel.group(1)), raw, span, f"=={wheel.group(2)}",
                              wheel.group(2), (), text)
        return None
    simple = _SIMPLE_REQ_RE.match(text)
    if simple:  # `torch`, `torch==2.1.0`: what packaging returns, without importing it
        version = simple.group(2)
        return PackageRef(canonical_name(simple.group(1)), raw, span,
                          f"=={version}" if version else "", version, (), None)
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement:
        # `torch==2.1.0+cu121` is valid; things like `numpy<2 ` with odd characters are not
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$", text)
        if not m:
            return None
        spec = m.group(3)
        ver = spec[2:].strip() if spec.startswith("==") and not spec.startswith("===") else None
        extras = tuple(e.strip() for e in (m.group(2) or "[]")[1:-1].split(",") if e.strip())
        return PackageRef(canonical_name(m.group(1)), raw, span, spec, ver, extras)
    spec = str(req.specifier)
    version = None
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        version = specs[0].version
    return PackageRef(canonical_name(req.name), raw, span, spec, version,
                      tuple(sorted(req.extras)), req.url)


def _pip_install(cmd, words, kind: str, env: dict) -> PipInstall | None:
    vals = [w.value if w.value is not None else w.raw for w in words]
    if not vals:
        return None
    # `pip install`, `uv pip install`, `pip3 install`; also `uv pip sync` is not an install
    if vals[0] != "install":
        return None
    inst = PipInstall(command=cmd, kind=kind, install_word=words[0])
    inst.index_url = env.get("PIP_INDEX_URL") or env.get("UV_INDEX_URL") or env.get("UV_DEFAULT_INDEX")
    extra = env.get("PIP_EXTRA_INDEX_URL") or env.get("UV_EXTRA_INDEX_URL") or env.get("UV_INDEX")
    if extra:
        inst.extra_index_urls.extend(extra.split())
    i = 1
    n = len(vals)
    while i < n:
        v = vals[i]
        w = words[i]
        if v.startswith("-") and len(v) > 1:
            opt, eq, val = v.partition("=")
            if not eq and opt in _PIP_VALUE_OPTS:
                val = vals[i + 1] if i + 1 < n else ""
                i += 1
            elif not eq and re.match(r"^-[rcief]\S", opt):
                opt, val = opt[:2], opt[2:]
            inst.options.append(v if eq or opt not in _PIP_VALUE_OPTS else f"{opt}={val}")
            if opt in ("-r", "--requirement"):
                inst.requirement_files.append(val)
            elif opt in ("-c", "--constraint"):
                inst.constraint_files.append(val)
            elif opt in ("-e", "--editable"):
                inst.local.append(val)
            elif opt in ("-i", "--index-url", "--default-index"):
                inst.index_url = val
            elif opt in ("--extra-index-url", "--index"):
                inst.extra_index_urls.append(val)
            elif opt == "--user":
                inst.user = True
            elif opt in ("--no-cache-dir", "--no-cache"):
                inst.no_cache_dir = True
            elif opt in ("-U", "--upgrade"):
                inst.upgrade = True
            elif opt == "--no-deps":
                inst.no_deps = True
            elif opt in ("-t", "--target"):
                inst.target = val
            elif opt == "--prefix":
                inst.prefix = val
            elif re.match(r"^-[a-zA-Z]+$", opt) and "U" in opt:
                inst.upgrade = True
            i += 1
            continue
        if w.value is None and "$" in w.raw:
            # `torch==${TORCH_VERSION}`: expand from ARG/ENV when every variable has a value
            expanded, complete = expand(w.raw.strip("'\""), env)
            if not complete or not expanded or any(c.isspace() for c in expanded):
                i += 1  # unknown content (`pip install $PKGS`)
                continue
            v = expanded
        if v.startswith((".", "/", "~")) and not _WHEEL_RE.search(v) or v in (".", ".."):
            inst.local.append(v)
        else:
            ref = parse_requirement(v, w.span)
            if ref is not None:
                inst.packages.append(ref)
            elif v:
                inst.local.append(v)
        i += 1
    return inst


_APT_TOOLS = {"apt-get": "install", "apt": "install", "aptitude": "install", "apk": "add",
              "yum": "install", "dnf": "install", "microdnf": "install", "zypper": "install"}
_APT_VALUE_OPTS = frozenset({"-o", "-t", "--target-release", "-c", "--config-file",
                             "--repository", "-X", "--virtual", "-t"})


def _apt_install(cmd) -> AptInstall | None:
    tool = cmd.name
    verb = _APT_TOOLS.get(tool or "")
    if verb is None:
        return None
    words = cmd.argv[1:]
    vals = [w.value if w.value is not None else w.raw for w in words]
    # find the verb (options may come first: apt-get -y install)
    idx = None
    skip = False
    for k, v in enumerate(vals):
        if skip:
            skip = False
            continue
        if v.startswith("-"):
            if v in _APT_VALUE_OPTS:
                skip = True
            continue
        if v == verb or (tool in ("yum", "dnf", "microdnf", "zypper") and v in ("install", "in")):
            idx = k
        break
    if idx is None:
        return None
    inst = AptInstall(command=cmd, tool=tool, install_word=words[idx])
    inst.options = [v for v in vals if v.startswith("-")]
    skip = False
    for k, (v, w) in enumerate(zip(vals, words)):
        if k == idx:
            continue
        if skip:
            skip = False
            continue
        if v.startswith("-"):
            if v in _APT_VALUE_OPTS:
                skip = True
            continue
        if k < idx:
            continue
        if w.value is None:
            continue
        name, eq, ver = v.partition("=")
        inst.packages.append(PackageRef(name, v, w.span, f"={ver}" if eq else "",
                                        ver if eq else None))
    return inst


def find_installs(commands, env: dict) -> tuple[list[PipInstall], list[AptInstall]]:
    """The pip and system-package installs among ``commands`` (shell Commands of one RUN),
    with the ARG/ENV ``env`` in effect (for ``PIP_INDEX_URL`` etc.; command prefixes such as
    ``PIP_INDEX_URL=x pip install`` are taken from each command's assignments)."""
    from ..parser import shell as sh

    pips: list[PipInstall] = []
    apts: list[AptInstall] = []
    for cmd in commands:
        words = sh.pip_args(cmd)
        if words is not None:
            local_env = dict(env)
            local_env.update(cmd.assignments)
            p = _pip_install(cmd, words, sh.pip_kind(cmd) or "pip", local_env)
            if p is not None:
                pips.append(p)
            continue
        a = _apt_install(cmd)
        if a is not None:
            apts.append(a)
    return pips, apts
