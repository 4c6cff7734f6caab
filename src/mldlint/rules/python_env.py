"""Rules: Python environments: pip --user, manifests, conda and uv (MLD312, MLD313, MLD320, MLD321, MLD325)."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from typing import Iterable, Iterator

from ..fixer import Edit, Fix
from ..model.expand import expand
from ..model.paths import is_under as _under
from ..model.paths import normalize as _abs
from ..parser import shell as sh
from ..parser.nodes import Span
from .base import Violation, rule
from .common import source_is, span_of_words

_TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
_CONDA_TOOLS = ("conda", "mamba", "micromamba")


# ------------------------------------------------------------------------------ shared helpers
def _is_root(user: str | None) -> bool:
    """Whether a USER value names root (``None`` = the base default, read as root)."""
    if user is None:
        return True
    return user.split(":", 1)[0].strip() in ("root", "0")


def _known_non_root(user: str | None) -> bool:
    """Whether a USER value names a user other than root (and is not an unresolved variable)."""
    return user is not None and "$" not in user and not _is_root(user)


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().strip("'\"").lower() in _TRUE_WORDS


def _subcommand(words, value_opts: Iterable[str] = ()) -> tuple[int, str] | None:
    """Index and text of the first non-option word of ``words`` (options in ``value_opts``
    take the next word as their value); ``None`` when absent or dynamic."""
    value_opts = frozenset(value_opts)
    i = 0
    while i < len(words):
        v = words[i].value
        if v is None:
            return None
        if v.startswith("-"):
            if "=" not in v and v in value_opts:
                i += 1
            i += 1
            continue
        return i, v
    return None


def _script_unreadable(step) -> bool:
    """The RUN's shell script is missing or did not parse cleanly. For a heredoc RUN only the
    bodies count: the model parses the marker line (``RUN <<EOF``) on its own, which reports a
    spurious error."""
    script = step.script
    if script is None:
        return True
    if not script.has_error:
        return False
    ins = step.instruction
    if ins.heredocs and all(w.startswith("<<") or w[:1].isdecimal()
                            for w in ins.effective_rest.value.split()):
        return any(sh.parse_shell(h.content).has_error for h in ins.heredocs)
    return True


# ------------------------------------------------------------------------------------- MLD312
_USER_BASE_DEFAULT = "/root/.local"


def _user_base(step, assignments: dict) -> str | None:
    """Where ``pip install --user`` run as root puts packages for this step."""
    env = dict(step.env)
    env.update(assignments)
    base = env.get("PYTHONUSERBASE")
    if base:
        return _abs(base, step.workdir)
    home = env.get("HOME")
    if home and home.rstrip("/") != "/root":
        return _abs(home.rstrip("/") + "/.local", step.workdir)
    return _USER_BASE_DEFAULT


def _root_local_install(step, p) -> tuple[str, object] | None:
    """``(folder, word)`` when pip install ``p`` run as root puts packages under /root
    (``--user``, ``PIP_USER=1``, ``--prefix``/``--target`` inside /root), else ``None``."""
    if p.kind != "pip":
        return None
    words = p.command.argv
    env = dict(step.env)
    env.update(p.command.assignments)
    where = None
    word = p.install_word
    if p.user or _truthy(env.get("PIP_USER")):
        where = _user_base(step, p.command.assignments)
        word = next((w for w in words if w.value == "--user"), p.install_word)
    if p.prefix:
        where = _abs(p.prefix, step.workdir)
        word = next((w for w in words if (w.value or "").startswith("--prefix")), word)
    if p.target:
        where = _abs(p.target, step.workdir)
        word = next((w for w in words if (w.value or "") in ("-t", "--target") or (
            w.value or "").startswith(("--target=", "-t/"))), word)
    if where is None or not _under(where, "/root") or where == "/root":
        return None
    return where, word


def _opens_root(sm) -> bool:
    """A RUN in the lineage changes the permissions or owner of /root (``chmod 755 /root``,
    ``chmod -R a+rX /root/.local``, ``chown -R app /root``): then /root may be readable."""
    for st in sm.lineage():
        for step in st.runs():
            for c in step.commands:
                if c.name in ("chmod", "chown", "setfacl") and any(
                        (w.text.rstrip("/") == "/root" or w.text.startswith("/root/")
                         or w.text.startswith(("~", "$HOME", "${HOME}")))
                        for w in c.args):
                    return True
    return False


def _runs_python_after(sm, step):
    """The first RUN after ``step`` in ``sm``'s lineage that runs as a non-root user and
    starts Python (or a program installed by pip), else ``None``."""
    seen = False
    for st in reversed(sm.lineage()):
        for s in st.steps:
            if s is step:
                seen = True
                continue
            if not seen or s.instruction.keyword != "RUN" or not _known_non_root(s.user):
                continue
            for c in s.commands:
                if c.name and (re.match(r"python(\d+(\.\d+)*)?$", c.name)
                               or (c.argv[0].value or "").startswith("/root/.local/")):
                    return s
    return None


@rule("MLD312")
def pip_user_install_hidden(df, model, ctx) -> Iterator[Violation]:
    """Packages installed into /root/.local and then used by a non-root user."""
    final = model.final
    for sm in model.stages:
        if sm.stage.index < 0:
            continue  # a fragment: the base (and its user) is unknown
        # (a) pip install --user as root, later USER <non-root> in the same lineage
        for step in sm.runs():
            if not step.pip or not _is_root(step.user):
                continue
            if step.user is None and sm.facts is None and sm.root_base is None:
                continue
            for p in step.pip:
                hit = _root_local_install(step, p)
                if hit is None:
                    continue
                where, word = hit
                user = None
                for st in model.stages:
                    if sm not in st.lineage() or _opens_root(st):
                        continue
                    if st is final and _known_non_root(st.user):
                        user = st.user
                        break
                    later = _runs_python_after(st, step)
                    if later is not None:
                        user = later.user
                        break
                if user is None:
                    continue
                yield Violation(
                    word.span,
                    f"pip installs these packages as root into {where}, but the image then runs "
                    f"as user {user}: /root is mode 700, so imports fail at run time; install "
                    f"with --prefix=/install (and COPY it to /usr/local) or into a virtualenv "
                    f"such as /opt/venv put on PATH")
        # (b) COPY --from=... /root/.local into /root of a stage that ends as a non-root user
        for cp in sm.copies:
            if cp.from_ref is None or cp.instruction.swallowed:
                continue
            users = [st.user for st in model.stages
                     if sm in st.lineage() and _known_non_root(st.user) and not _opens_root(st)]
            if not users:
                continue
            step = model.step_of(cp.instruction)
            dest = _abs(cp.dest, step.workdir if step else None) if cp.dest else None
            if dest is None or "$" in cp.dest or not _under(dest, "/root"):
                continue
            for arg, src in zip(cp.instruction.args, cp.sources):
                s = _abs(src, "/")
                if not s or not (s == "/root" or _under(s, "/root/.local")):
                    continue
                yield Violation(
                    arg.span,
                    f"COPY puts {src} from {cp.from_ref} into {dest}, but the image runs as "
                    f"user {users[0]}: /root is mode 700, so those packages cannot be imported "
                    f"at run time; install with --prefix=/install and COPY it to /usr/local, or "
                    f"build a virtualenv in /opt/venv, copy it and put /opt/venv/bin on PATH")
                break


# ------------------------------------------------------------------------------------- MLD313
#: extensions of names that are plain files when COPY'd (anything else may be a folder)
_FILE_EXTS = frozenset({
    "txt", "in", "py", "pyi", "yml", "yaml", "toml", "lock", "json", "cfg", "ini", "sh", "bash",
    "md", "rst", "whl", "conf", "env", "js", "mjs", "cjs", "ts", "r", "jl", "ipynb", "csv",
    "pem", "crt", "key", "so", "pt", "pth", "bin", "onnx", "safetensors", "ckpt", "h5", "pkl",
    "html", "css", "xml", "sql", "c", "cc", "cpp", "h", "hpp", "go", "rs", "java", "jar",
    "service", "png", "jpg", "svg", "pdf", "log", "patch", "diff", "ps1", "bat", "gguf",
})
_ARCHIVE_RE = re.compile(r"\.(tar|tgz|tbz2?|txz|tar\.(gz|bz2|xz|zst))$", re.I)
_PLAIN_NAMES = frozenset({"Dockerfile", "Containerfile", "Pipfile", "Makefile", "LICENSE",
                          "README", "Procfile", "Gemfile", "Jenkinsfile", "Vagrantfile"})
#: programs that may create any file (fetch, unpack, copy, run a script)
_CREATORS = frozenset({
    "tar", "unzip", "bsdtar", "7z", "7za", "gunzip", "bunzip2", "unxz", "zstd", "svn", "hg",
    "bzr", "gsutil", "aws", "az", "gcloud", "gdown", "dvc", "scp", "sftp", "rclone", "s3cmd",
    "aria2c", "cookiecutter", "degit", "make", "patch", "git-lfs", "gh", "npx", "copier", "mc",
    "hf", "huggingface-cli", "unrar", "busybox", "eval", "xargs", "pip-compile",
})
#: project tools and the manifests they may write (``None``: any file)
_PROJECT_WRITERS = {
    "npm": {"package.json", "package-lock.json", "npm-shrinkwrap.json"},
    "yarn": {"package.json", "yarn.lock"},
    "pnpm": {"package.json", "pnpm-lock.yaml"},
    "poetry": {"pyproject.toml", "poetry.lock"},
    "pipenv": {"Pipfile", "Pipfile.lock"},
    "pdm": {"pyproject.toml", "pdm.lock"},
    "hatch": {"pyproject.toml"},
    "rye": {"pyproject.toml", "requirements.lock", "requirements-dev.lock"},
    "conda-lock": None,
}
#: programs whose last operand is where they write (``cp a b``, ``ln -s a b``)
_COPIERS = frozenset({"cp", "mv", "ln", "install", "rsync"})
_UV_CREATE_SUBS = frozenset({"init", "lock", "export", "add", "remove", "tool"})
_PY_RE = re.compile(r"python(\d+(\.\d+)*)?[mtd]?$")
_UV_VALUE_OPTS = frozenset({"--cache-dir", "--directory", "--project", "--config-file",
                            "--color", "--python", "-p", "--allow-insecure-host", "--package",
                            "--extra", "--group", "--only-group", "--no-group", "--index",
                            "--default-index", "-i", "--index-url", "--extra-index-url",
                            "--find-links", "-f", "--python-platform", "--link-mode",
                            "--index-strategy", "--resolution", "--prerelease",
                            "--exclude-newer", "--refresh-package", "--reinstall-package",
                            "--upgrade-package", "-P", "--no-binary-package",
                            "--no-build-package", "--keyring-provider", "--config-setting",
                            "-C", "--no-install-package", "--script", "--constraint", "-c",
                            "--build-constraint", "-b", "--target", "--prefix",
                            "--python-version", "--override", "--torch-backend",
                            "--only-binary", "--no-binary", "--no-emit-package",
                            "--output-file", "-o"})


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _may_be_folder(src: str, is_add: bool) -> bool:
    """Whether a COPY/ADD source may be a folder (or an archive that ADD unpacks): anything
    but a name with a plain-file extension."""
    if "://" in src or src.startswith("git@"):
        path = src.split("?", 1)[0].split("#", 1)[0]
        return src.startswith("git@") or path.endswith((".git", "/")) or "#" in src
    base = _basename(src)
    if src.endswith("/") or base in ("", ".", "..") or "$" in src:
        return True
    if is_add and _ARCHIVE_RE.search(base):
        return True
    if base in _PLAIN_NAMES:
        return False
    stem = base.lstrip(".")
    if "." not in stem:
        return True
    return stem.rsplit(".", 1)[-1].lower() not in _FILE_EXTS


class _Cwd:
    """Resolves paths against a working folder that may be unknown: an unknown folder is a
    token ``?n`` (one per WORKDIR that could not be resolved), so two paths under the same
    unknown folder compare equal and a path under an unknown folder never counts as different
    from an absolute one."""

    def __init__(self, known: str | None, token: str):
        self.known = known
        self.token = token

    def resolve(self, path: str) -> str | None:
        """``"/abs/path"`` or ``"?n:/rel/path"``; ``None`` for ``~`` or ``..`` above the unknown
        folder."""
        if path.startswith("~"):
            return None
        if path.startswith("/"):
            return posixpath.normpath(path)
        if self.known:
            return posixpath.normpath(posixpath.join(self.known, path))
        rel = posixpath.normpath(path)
        if rel.startswith(".."):
            return None
        return f"{self.token}:" + posixpath.normpath("/" + rel)


def _split(p: str) -> tuple[str, str]:
    if p.startswith("?"):
        tok, _, rest = p.partition(":")
        return tok, rest
    return "/", p


def _same(a: str, b: str) -> bool:
    """``a`` and ``b`` may be the same path."""
    ra, pa = _split(a)
    rb, pb = _split(b)
    return ra != rb or pa == pb


def _maybe_under(path: str, folder: str) -> bool:
    """``path`` may be ``folder`` or inside it."""
    ra, pa = _split(path)
    rb, pb = _split(folder)
    return ra != rb or _under(pa, pb)


def _parent_dir(p: str) -> str | None:
    root, rest = _split(p)
    if rest in ("/", ""):
        return None
    parent = posixpath.dirname(rest.rstrip("/")) or "/"
    return parent if root == "/" else f"{root}:{parent}"


def _join(folder: str, name: str) -> str:
    root, rest = _split(folder)
    joined = posixpath.join(rest, name)
    return joined if root == "/" else f"{root}:{joined}"


def _copy_may_provide(cp, cwd: _Cwd, want: str) -> bool:
    """Whether COPY/ADD ``cp`` (run with working folder ``cwd``) may put a file at ``want``."""
    ins = cp.instruction
    dest = cp.dest
    if not dest or "$" in dest:
        return True
    d = cwd.resolve(dest)
    if d is None:
        return True
    if ins.heredocs or ins.flag("parents") is not None:
        return _maybe_under(want, d)
    is_add = ins.keyword == "ADD"
    dest_is_dir = dest.endswith("/") or len(cp.sources) > 1 or dest in (".", "..") \
        or dest.endswith(("/.", "/.."))
    wname = _basename(_split(want)[1])
    for src in cp.sources:
        if "$" in src:
            return True
        folder = _may_be_folder(src, is_add)
        glob = any(ch in src for ch in "*?[")
        if glob and any(ch in src.rstrip("/").rsplit("/", 1)[0] for ch in "*?[") and "/" in src:
            folder = True
        if folder:
            if _maybe_under(want, d):
                return True
            continue
        base = _basename(src.split("?", 1)[0] if "://" in src else src)
        names_match = fnmatch.fnmatchcase(wname, base) if glob else wname == base
        if names_match and _same(want, _join(d, wname)):
            return True
        if not dest_is_dir and _same(want, d):
            return True  # renamed on the way in
    return False


def _mentions(cmd, names: Iterable[str]) -> bool:
    """A word or redirection of ``cmd`` mentions one of ``names``."""
    texts = [w.raw for w in cmd.full_argv] + [w.raw for w in cmd.argv]
    texts += [r.target.raw for r in cmd.redirects if r.target is not None]
    texts += [r.body for r in cmd.redirects if r.body]
    return any(n in t for t in texts for n in names)


def _copier_may_write(cmd, candidates: Iterable[str]) -> bool:
    """Whether ``cp``/``mv``/``ln``/``install``/``rsync`` may write one of ``candidates``: its
    destination (last operand) is relative, dynamic, or one of them or a folder above one."""
    words = [w for w in cmd.argv[1:]]
    if any((w.value or "").startswith(("-t", "--target-directory")) for w in words):
        return True
    operands = [w for w in words if w.value is None or not w.value.startswith("-")]
    if not operands:
        return False
    dest = operands[-1].value
    if dest is None or not dest.startswith("/"):
        return True
    d = posixpath.normpath(dest)
    return any(_maybe_under(c, d) for c in candidates)


def _may_create(cmd, names: Iterable[str], candidates: Iterable[str] = ()) -> bool:
    """Whether ``cmd`` may create a file called one of ``names`` at one of ``candidates`` (it
    mentions the name, unpacks or copies files there, or runs a script whose effects are
    unknown)."""
    if _mentions(cmd, names):
        return True
    name = cmd.name
    if name is None:
        return True
    if name in _CREATORS or name.endswith((".sh", ".py")):
        return True
    if "/" in (cmd.argv[0].value or "") and not (
            _PY_RE.match(name) or sh.pip_kind(cmd) or name in _CONDA_TOOLS + ("uv", "apt-get")):
        return True  # a program given by path (often a project script)
    args = [w.value for w in cmd.argv[1:]]
    if name in _PROJECT_WRITERS:
        wrote = _PROJECT_WRITERS[name]
        return wrote is None or bool(wrote & set(names))
    if name in _COPIERS:
        return _copier_may_write(cmd, candidates)
    if name == "git":
        sub = _subcommand(cmd.argv[1:], ("-C", "-c", "--git-dir", "--work-tree"))
        return sub is None or sub[1] not in ("config", "version", "init", "--version")
    if name == "wget":
        # wget names its file after the URL (mentions are checked above) unless recursive
        for a in args:
            if a is None or a in ("--recursive", "--mirror") or a.startswith("--input-file"):
                return True
            if a.startswith("-") and not a.startswith("--") and set(a[1:]) & set("rmi"):
                return True
        return False
    if name == "curl":
        return False  # curl writes only where -o/-O/a redirection says (mentions checked above)
    if name in ("source", "."):
        script = args[0] if args else None
        return script is None or script.endswith(".sh") and not script.endswith(
            ("conda.sh", "mamba.sh")) and "profile" not in script
    if name == "find":
        return any(a in ("-exec", "-execdir") for a in args)
    if name in sh.SHELLS:
        return True  # a script file, or a script read from a pipe
    if _PY_RE.match(name):
        if not args or args[0] is None:
            return True  # a script on stdin, or a dynamic argument
        first = args[0]
        if first == "-m":
            return len(args) < 2 or args[1] not in ("pip", "venv", "ensurepip", "compileall")
        if first in ("-V", "--version") or first.startswith("-c"):
            return False  # `python -c` code was searched for the names above
        return True  # a script (maybe after interpreter options)
    if name == "uv":
        sub = _subcommand(cmd.argv[1:], _UV_VALUE_OPTS)
        if sub is None:
            return True
        if sub[1] in _UV_CREATE_SUBS:
            return True
        if sub[1] == "pip":
            rest = cmd.argv[1 + sub[0] + 1:]
            s2 = _subcommand(rest, ())
            return s2 is None or s2[1] in ("compile", "freeze")
    if name in _CONDA_TOOLS:
        vals = [a or "" for a in args]
        return "export" in vals or "--export" in vals or "lock" in vals
    if name in ("pip", "pip3") or (sh.pip_kind(cmd) == "pip"):
        pa = sh.pip_args(cmd)
        if pa and pa[0].value in ("download", "wheel", "freeze"):
            return True
    return False


def _cmds_between_are_sequential(text: str) -> bool:
    """The source between two commands is a plain ``&&``/``;`` list (no subshell, pipe,
    substitution or compound command)."""
    if any(ch in text for ch in "()`{}|"):
        return False
    return not re.search(r"\b(if|then|else|elif|fi|for|while|until|do|done|case|esac)\b", text)


class _Need:
    """One file a dependency command needs: the word to point at, the path as written, the
    candidate locations (any of which is enough) and how the command reads it."""

    def __init__(self, word_span: Span, written: str, candidates: list[str], what: str):
        self.span = word_span
        self.written = written
        self.candidates = candidates
        self.what = what


def _option_words(words, short: str | None, longs: tuple[str, ...]):
    """``(value, word)`` pairs of an option's values: ``-r F``, ``-rF``, ``--requirement F``,
    ``--requirement=F``. Scanning stops at ``--``."""
    out = []
    i = 0
    while i < len(words):
        w = words[i]
        t = w.value
        if t is None:
            i += 1
            continue
        if t == "--":
            break
        if t.startswith("--"):
            name, eq, val = t[2:].partition("=")
            if name in longs:
                if eq:
                    out.append((val, w))
                elif i + 1 < len(words):
                    nxt = words[i + 1]
                    out.append((nxt.value, nxt))
                    i += 1
        elif short and t.startswith("-" + short):
            if len(t) > 2:
                out.append((t[2:].lstrip("="), w))
            elif i + 1 < len(words):
                nxt = words[i + 1]
                out.append((nxt.value, nxt))
                i += 1
        i += 1
    return out


def _file_value_ok(v: str | None) -> bool:
    return bool(v) and "$" not in v and "://" not in v and not v.startswith(("~", "-")) \
        and v not in ("/dev/stdin", "-")


def _project_candidates(folder: str, name: str) -> list[str]:
    """``folder/name`` and the same name in every parent folder (tools that look upward)."""
    out = []
    cur: str | None = folder
    while cur is not None:
        out.append(_join(cur, name))
        cur = _parent_dir(cur)
    return out


def _needs(cmd, cwd: _Cwd) -> list[_Need]:
    """The build-context files ``cmd`` reads before installing anything."""
    name = cmd.name
    out: list[_Need] = []
    if name is None:
        return out
    kind = sh.pip_kind(cmd)
    if kind is not None:
        words = sh.pip_args(cmd) or []
        if not words or words[0].value not in ("install", "sync"):
            return out
        sub = words[0].value
        if sub == "sync" and kind != "uv":
            return out
        for short, longs, what in (("r", ("requirement",), "-r"), ("c", ("constraint",), "-c")):
            for v, w in _option_words(words[1:], short, longs):
                if _file_value_ok(v):
                    p = cwd.resolve(v)
                    if p:
                        out.append(_Need(w.span, v, [p], f"{'uv pip' if kind == 'uv' else 'pip'}"
                                         f" {sub} {what} {v}"))
        if sub == "sync":
            i = 1
            while i < len(words):
                v = words[i].value
                if v is None:
                    i += 1
                    continue
                if v.startswith("-"):
                    if "=" not in v and (v in _UV_VALUE_OPTS or v.startswith("--") and v not in (
                            "--system", "--strict", "--require-hashes", "--no-build",
                            "--break-system-packages", "--reinstall", "--refresh",
                            "--no-cache", "--offline", "--dry-run", "--compile-bytecode",
                            "--compile", "--no-index", "--allow-empty-requirements",
                            "--no-build-isolation", "--quiet", "--verbose", "--user",
                            "--no-verify-hashes", "--native-tls", "--no-config",
                            "--no-progress", "--link-mode=copy")):
                        i += 1
                    i += 1
                    continue
                if _file_value_ok(v):
                    p = cwd.resolve(v)
                    if p:
                        out.append(_Need(words[i].span, v, [p], f"uv pip sync {v}"))
                i += 1
        return out
    args = cmd.argv[1:]
    if name in _CONDA_TOOLS:
        sub = _subcommand(args, ("-n", "--name", "-p", "--prefix", "-c", "--channel",
                                 "-r", "--root-prefix", "--rc-file"))
        if sub is None:
            return out
        i, s1 = sub
        verb = s1
        if s1 == "env":
            s2 = _subcommand(args[i + 1:], ("-n", "--name", "-p", "--prefix", "-f", "--file"))
            if s2 is None:
                return out
            verb = "env " + s2[1]
            if s2[1] not in ("create", "update"):
                return out
            short = "f"
        elif s1 in ("create", "install", "update") and name == "micromamba":
            short = "f"
        elif s1 in ("create", "install", "update"):
            short = None  # conda's own -f once meant --force
        else:
            return out
        for v, w in _option_words(args[i + 1:], short, ("file",)):
            if _file_value_ok(v):
                p = cwd.resolve(v)
                if p:
                    out.append(_Need(w.span, v, [p], f"{name} {verb} -f {v}"))
        return out

    def project(sub_idx: int, dir_opts: tuple[str, ...], shorts: str | None,
                files: list[str], label: str) -> None:
        folder_word = _option_words(args, shorts, dir_opts)
        folder = cwd.resolve(".") if not folder_word else (
            cwd.resolve(folder_word[-1][0]) if _file_value_ok(folder_word[-1][0]) else None)
        if folder is None:
            return
        span = span_of_words(cmd.argv[0], args[sub_idx])
        for f in files:
            out.append(_Need(span, f, _project_candidates(folder, f), label))

    if name == "poetry":
        sub = _subcommand(args, ("-C", "--directory", "-P", "--project", "--with",
                                 "--without", "--only", "-E", "--extras"))
        if sub and sub[1] in ("install", "sync"):
            folder_opts = _option_words(args, None, ("directory", "project"))
            folder_opts += [x for x in _option_words(args, "C", ()) + _option_words(args, "P", ())]
            if folder_opts:
                v = folder_opts[-1][0]
                if not _file_value_ok(v):
                    return out
                folder = cwd.resolve(v)
                if folder is None:
                    return out
                out.append(_Need(span_of_words(cmd.argv[0], args[sub[0]]), "pyproject.toml",
                                 _project_candidates(folder, "pyproject.toml"),
                                 f"poetry {sub[1]}"))
            else:
                project(sub[0], (), None, ["pyproject.toml"], f"poetry {sub[1]}")
    elif name == "uv":
        sub = _subcommand(args, _UV_VALUE_OPTS)
        if sub and sub[1] == "sync":
            vals = [w.value for w in args]
            if any(v is None for v in vals) or "--script" in vals or "--no-project" in vals \
                    or any((v or "").startswith("--script=") for v in vals):
                return out
            files = ["pyproject.toml"]
            if "--locked" in vals or "--frozen" in vals:
                files.append("uv.lock")
            folder_opts = _option_words(args, None, ("project", "directory"))
            if folder_opts:
                v = folder_opts[-1][0]
                if not _file_value_ok(v):
                    return out
                folder = cwd.resolve(v)
                if folder is None:
                    return out
                for f in files:
                    out.append(_Need(span_of_words(cmd.argv[0], args[sub[0]]), f,
                                     _project_candidates(folder, f), "uv sync"))
            else:
                project(sub[0], (), None, files, "uv sync")
    elif name == "pipenv":
        sub = _subcommand(args, ("--python", "--pypi-mirror"))
        if sub and sub[1] == "install":
            rest = args[sub[0] + 1:]
            j = 0
            while j < len(rest):
                v = rest[j].value
                if v is None:
                    return out
                if v.startswith("-"):
                    if v in ("-r", "--requirements", "-c", "--constraint", "-e", "--editable"):
                        return out
                    if v in ("--python", "--pypi-mirror", "-i", "--index", "--categories",
                             "--extra-pip-args"):
                        j += 1
                    j += 1
                    continue
                return out  # packages named: pipenv writes a Pipfile itself
            if any((w.value or "").startswith(("--python", "--pypi-mirror")) for w in args[:sub[0]]):
                pass
            project(sub[0], (), None, ["Pipfile"], "pipenv install")
    elif name == "npm":
        sub = _subcommand(args, ("--prefix", "-C", "--workspace", "-w", "--omit", "--include",
                                 "--registry", "--loglevel", "--cache"))
        if sub and sub[1] in ("ci", "clean-install", "ic", "install-clean", "isntall-clean"):
            prefix = _option_words(args, None, ("prefix",))
            if prefix:
                v = prefix[-1][0]
                if not _file_value_ok(v):
                    return out
                folder = cwd.resolve(v)
            else:
                folder = cwd.resolve(".")
            if folder is None:
                return out
            locks = _project_candidates(folder, "package-lock.json") + _project_candidates(
                folder, "npm-shrinkwrap.json")
            out.append(_Need(span_of_words(cmd.argv[0], args[sub[0]]), "package-lock.json",
                             locks, f"npm {sub[1]}"))
    return out


#: image families known to set no WORKDIR (so a build starts in ``/``)
_ROOT_CWD_FAMILIES = frozenset({"python", "node", "debian", "ubuntu", "alpine", "cuda"})
_ROOT_CWD_REPOS = re.compile(r"(continuumio/(miniconda3?|anaconda3?)|condaforge/(miniforge3|mambaforge))$")
#: image families whose knowledge-base WORKDIR is trusted
_TRUSTED_WORKDIR = re.compile(r"pytorch/pytorch|nvcr\.io/nvidia/(pytorch|tensorflow)$")


def _base_cwd(sm) -> str | None:
    """The working folder the base image of ``sm``'s lineage starts in, when known for sure."""
    root = sm.lineage()[-1]
    if root.base is None or root.facts is None:
        return None
    repo = root.base.repository
    if _TRUSTED_WORKDIR.fullmatch(repo) and root.facts.workdir:
        return root.facts.workdir
    if root.facts.workdir is None and (root.facts.family in _ROOT_CWD_FAMILIES
                                       or _ROOT_CWD_REPOS.fullmatch(repo)):
        return "/"
    return None


def _workdir_tokens(sm) -> dict[int, _Cwd]:
    """The working folder of every step in ``sm``'s lineage (keyed by ``id(step)``)."""
    out: dict[int, _Cwd] = {}
    unknown = 0
    cwd = _base_cwd(sm)
    for st in reversed(sm.lineage()):
        for step in st.steps:
            out[id(step)] = _Cwd(cwd, f"?{unknown}")
            ins = step.instruction
            if ins.keyword == "WORKDIR" and not ins.swallowed:
                unknown += 1
                value, complete = expand(ins.values[0], step.env) if ins.values else ("", False)
                value = value.strip("'\"")
                if not complete or not value:
                    cwd = None
                elif value.startswith("/"):
                    cwd = posixpath.normpath(value)
                else:
                    cwd = posixpath.normpath(posixpath.join(cwd, value)) if cwd else None
    return out


def _base_may_hold_files(sm) -> bool:
    """Whether the bottom of the lineage is an image that may hold project files itself (an
    unknown image, an ``onbuild`` variant, an unresolved FROM, a fragment)."""
    root = sm.lineage()[-1]
    if root.stage.index < 0 or root.base is None or not root.base_complete:
        return True
    if root.facts is None:
        return True
    return "onbuild" in (root.base.tag or "").lower()


def _provided(model, sm, step, cmd, need: _Need, cwds: dict[int, _Cwd]) -> bool:
    """Whether any candidate location of ``need`` may exist when ``cmd`` runs."""
    names = {_basename(_split(c)[1]) for c in need.candidates}
    names.add(_basename(need.written))
    # a mount of this RUN (bind from the context or a stage, cache, secret ...)
    cwd = cwds.get(id(step))
    for m in step.mounts:
        if not m.target or "$" in m.target:
            return True
        t = cwd.resolve(m.target) if cwd else None
        if t is None:
            return True
        if any(_maybe_under(c, t) for c in need.candidates):
            return True
    # earlier commands of the same RUN
    for c in step.commands:
        if c is cmd:
            break
        if _may_create(c, names, need.candidates):
            return True
    # earlier instructions of the lineage
    for st in reversed(sm.lineage()):
        for s in st.steps:
            if s is step:
                return False
            kw = s.instruction.keyword
            if s.instruction.swallowed:
                continue
            if kw in ("COPY", "ADD"):
                cp = next((c for c in st.copies if c.instruction is s.instruction), None)
                if cp is None:
                    return True
                here = cwds.get(id(s)) or _Cwd(None, "?x")
                if any(_copy_may_provide(cp, here, c) for c in need.candidates):
                    return True
            elif kw == "RUN":
                ins = s.instruction
                text = ins.line_text.value + "".join(h.content for h in ins.heredocs)
                if any(n in text for n in names):
                    return True
                if s.script is None:
                    return True  # a RUN we could not read (exec form, another shell)
                if any(_may_create(c, names, need.candidates) for c in s.commands):
                    return True
            elif kw == "ONBUILD":
                continue
    return True


@rule("MLD313")
def manifest_not_copied(df, model, ctx) -> Iterator[Violation]:
    """A dependency install that reads a manifest no earlier instruction put in the image."""
    for sm in model.stages:
        if _base_may_hold_files(sm):
            continue
        cwds = _workdir_tokens(sm)
        for step in sm.runs():
            if step.instruction.swallowed or _script_unreadable(step):
                continue
            base_cwd = cwds.get(id(step))
            if base_cwd is None:
                continue
            cd_cmd = None
            cd_cwd = base_cwd
            for cmd in step.commands:
                if cmd.name in ("cd", "pushd", "popd"):
                    target = cmd.argv[1].value if len(cmd.argv) > 1 else None
                    resolved = None
                    if cmd.name != "popd" and target and target != "-":
                        resolved = (cd_cwd if cd_cmd is not None else base_cwd).resolve(target)
                    if resolved and not resolved.startswith("?"):
                        cd_cwd = _Cwd(resolved, "?cd")
                    else:
                        cd_cwd = _Cwd(None, f"?cd{cmd.span.start}")
                    cd_cmd = cmd
                    continue
                cwd = base_cwd
                if cd_cmd is not None:
                    between = ctx.source.text[cd_cmd.span.end:cmd.span.start]
                    if _cmds_between_are_sequential(between):
                        cwd = cd_cwd
                    else:
                        cwd = _Cwd(None, f"?sub{cmd.span.start}")
                for need in _needs(cmd, cwd):
                    if _provided(model, sm, step, cmd, need, cwds):
                        continue
                    where = next((c for c in need.candidates if not c.startswith("?")), None)
                    if where:
                        src = need.written if not need.written.startswith("/") else \
                            _basename(need.written)
                        loc = where
                        hint = f"COPY {src} {posixpath.dirname(where).rstrip('/')}/"
                    else:
                        loc = f"{need.written} (relative to the WORKDIR)"
                        hint = f"COPY {need.written} ./"
                    yield Violation(
                        need.span,
                        f"{need.what} reads {loc}, but no earlier COPY, ADD or bind mount puts "
                        f"it in the image (nor does an earlier RUN create it): the build fails; "
                        f"copy it in before this RUN (e.g. `{hint}`)")


# ------------------------------------------------------------------------------------- MLD320
_CONDA_GLOBAL_VALUE_OPTS = ("-r", "--root-prefix", "--rc-file", "-c", "--channel")


def conda_verb(cmd) -> tuple[str, object] | None:
    """``("install" | "create" | "env create" | "env update" | "clean" | ..., word)`` for a
    conda/mamba/micromamba command (the word is the last subcommand word)."""
    if cmd.name not in _CONDA_TOOLS:
        return None
    args = cmd.argv[1:]
    sub = _subcommand(args, _CONDA_GLOBAL_VALUE_OPTS)
    if sub is None:
        return None
    i, verb = sub
    if verb == "env":
        s2 = _subcommand(args[i + 1:], ("-n", "--name", "-p", "--prefix", "-f", "--file"))
        if s2 is None:
            return None
        return f"env {s2[1]}", args[i + 1 + s2[0]]
    return verb, args[i]


def _conda_downloads(cmd) -> bool:
    """A conda/mamba/micromamba command that downloads packages into the package cache."""
    v = conda_verb(cmd)
    if v is None or v[0] not in ("install", "create", "env create", "update", "env update"):
        return False
    if v[0] in ("update", "env update") and cmd.name != "micromamba":
        return False
    vals = [w.text for w in cmd.argv[1:]]
    return not any(x in ("--dry-run", "-d", "--help", "-h") for x in vals) and not (
        v[0] == "create" and "--clone" in vals)


def _cleans_all(cmd) -> bool:
    """``conda clean`` (or mamba/micromamba) that removes the whole package cache: ``--all``,
    ``--force-pkgs-dirs``, or ``--tarballs`` with ``--packages`` (as in ``-tipsy``).

    ``-y`` is not required: conda's prompt takes an empty answer (stdin is at end of file in a
    build) as its default, yes."""
    v = conda_verb(cmd)
    if v is None or v[0] != "clean":
        return False
    opts = [w.text for w in cmd.argv[1:] if w.text.startswith("-")]
    return sh.has_flag(opts, "a", "all") or sh.has_flag(opts, "f", "force-pkgs-dirs") or (
        sh.has_flag(opts, "t", "tarballs") and sh.has_flag(opts, "p", "packages"))


def _removes_pkgs_dir(cmd) -> bool:
    """``rm -rf /opt/conda/pkgs`` (any conda ``pkgs`` folder or its contents)."""
    if cmd.name != "rm":
        return False
    return any(re.search(r"(^|/)pkgs(/\*?)?/?$", w.raw.strip("'\"")) for w in cmd.argv[1:])


def _pkgs_cache_mounted(step) -> bool:
    for m in step.mounts:
        if m.type in ("cache", "tmpfs") and m.target and (
                m.target.rstrip("/").endswith("pkgs") or re.search(r"conda|mamba", m.target)):
            return True
    return False


def _insertion_point(ctx, step, cmd) -> int | None:
    """Where ``&& <tool> clean -afy`` can go right after ``cmd``: ``cmd`` is a top-level
    member of a ``&&``/``;`` list of a shell-form RUN; else ``None``."""
    ins = step.instruction
    if ins.is_json or ins.heredocs or cmd.wrappers or cmd.in_substitution or cmd.negated \
            or cmd.background or cmd.shell_span is not None or cmd.redirects:
        return None
    text = ctx.source.text
    rest = ins.effective_rest
    rest_span = rest.span()
    after = text[cmd.span.end:rest_span.end]
    tail = re.sub(r"\\\r?\n", " ", after).lstrip()
    if tail and not (tail.startswith("&&") or tail.startswith(";") and not tail.startswith(";;")):
        return None
    before = re.sub(r"\\\r?\n", " ", text[rest_span.start:cmd.span.start]).rstrip()
    if before and not (before.endswith("&&") or before.endswith(";")):
        return None
    for pl in step.script.pipelines:
        if pl.span.start <= cmd.span.start < pl.span.end:
            return None
    if re.search(r"[(){}`|]|\b(if|then|for|while|do|case)\b", before + " " + tail.split(
            "&&", 1)[0]):
        return None
    return cmd.span.end


@rule("MLD320")
def conda_no_clean(df, model, ctx) -> Iterator[Violation]:
    """conda/mamba/micromamba installs whose package cache stays in the layer."""
    for sm in model.stages:
        for step in sm.runs():
            if step.instruction.swallowed or step.script is None:
                continue
            if _pkgs_cache_mounted(step):
                continue
            pending: list = []
            partial = None
            for cmd in step.commands:
                if _conda_downloads(cmd):
                    pending.append(cmd)
                    partial = None
                elif pending and (_cleans_all(cmd) or _removes_pkgs_dir(cmd)):
                    pending = []
                elif pending and (conda_verb(cmd) or ("",))[0] == "clean":
                    partial = cmd
            if not pending or not model.ships(sm, "/opt/conda/pkgs"):
                continue
            first, last = pending[0], pending[-1]
            tool_word = last.argv[0].value or last.name
            micro = last.name == "micromamba"
            clean = f"{tool_word} clean " + ("--all --yes" if micro else "-afy")
            verb, vword = conda_verb(first)
            fix = None
            if partial is not None:
                pverb, pword = conda_verb(partial)
                opts = partial.argv[partial.argv.index(pword) + 1:]
                new_opts = "--all --yes" if partial.name == "micromamba" else "-afy"
                if opts and all((w.value or "").startswith("-") and source_is(
                        ctx, w.span, w.value or "") for w in opts):
                    fix = Fix(edits=(Edit(opts[0].span.start, opts[-1].span.end, new_opts),),
                              applicability="safe", title=f"Clean everything: {new_opts}")
                elif not opts and source_is(ctx, pword.span, "clean"):
                    fix = Fix(edits=(Edit(pword.span.end, pword.span.end, f" {new_opts}"),),
                              applicability="safe", title=f"Clean everything: {new_opts}")
                written = " ".join(w.text for w in partial.argv)
                why = "it does not remove everything (use -a/--all)"
                msg = (f"{first.name} {verb}: the `{written}` after it leaves the package cache "
                       f"in this layer, because {why}; downloaded packages and tarballs are "
                       f"often over 1 GB for ML environments; use `{partial.argv[0].text} clean "
                       f"{new_opts}`")
            else:
                at = _insertion_point(ctx, step, last)
                if at is not None:
                    fix = Fix(edits=(Edit(at, at, f" && {clean}"),), applicability="safe",
                              title=f"Append `&& {clean}`")
                msg = (f"{first.name} {verb} without a `{first.name} clean` of the package cache "
                       f"later in the same RUN: the downloaded packages and tarballs stay in "
                       f"this layer (often over 1 GB for ML environments); end the RUN with "
                       f"`&& {clean}`")
            yield Violation(span_of_words(first.argv[0], vword), msg, fix=fix)


# ------------------------------------------------------------------------------------- MLD321
_NO_EFFECT = frozenset({"echo", "export", "set", "cd", "true", ":", "unset", "hash", "which",
                        "type", "source", ".", "eval", "printf", "pwd", "env"})


def _activation(cmd) -> tuple[str, str, bool] | None:
    """``(what, target, is_venv)`` when ``cmd`` activates a conda environment or a
    virtualenv: ``conda activate X``, ``mamba/micromamba activate X``, ``source activate X``,
    ``. /opt/conda/bin/activate X``, ``source /opt/venv/bin/activate``."""
    name = cmd.name
    args = [w.text for w in cmd.argv[1:]]
    if name in _CONDA_TOOLS:
        v = conda_verb(cmd)
        if v is None or v[0] != "activate":
            return None
        rest = args[args.index("activate") + 1:] if "activate" in args else []
        target = next((a for a in rest if not a.startswith("-")), "base")
        return f"{name} activate {target}", target, False
    if name in ("source", ".") and args:
        script = args[0]
        if script == "activate" or script.endswith("/bin/activate"):
            folder = script[: -len("/bin/activate")] if script != "activate" else ""
            if len(args) > 1:
                return f"{name} {script} {args[1]}", args[1], False
            if not folder or re.search(r"(conda|mamba|forge)\d*$", folder):
                return f"{name} {script}", "base", False
            return f"{name} {script}", folder, True
    return None


def _no_effect(cmd) -> bool:
    """A command whose effect dies with the RUN's shell (or that only prints)."""
    name = cmd.name
    if name is None:
        return False
    if name in ("echo", "printf") and cmd.redirects and any(
            r.op.startswith(">") and r.target is not None and not (r.target.text or "").startswith(
                "/dev/") and not (r.target.text or "").isdecimal() for r in cmd.redirects):
        return False
    if name in _NO_EFFECT:
        return True
    if name in _CONDA_TOOLS:
        v = conda_verb(cmd)
        return v is not None and v[0] in ("activate", "deactivate", "info", "list", "env list",
                                          "--version")
    return False


@rule("MLD321")
def conda_activate_in_run(df, model, ctx) -> Iterator[Violation]:
    """A RUN that only activates an environment: the activation ends with that RUN."""
    for sm in model.stages:
        for step in sm.runs():
            if step.instruction.swallowed or _script_unreadable(step):
                continue
            cmds = step.commands
            acts = [(c, _activation(c)) for c in cmds]
            acts = [(c, a) for c, a in acts if a is not None]
            if not acts or not all(_no_effect(c) for c in cmds):
                continue
            cmd, (what, target, is_venv) = acts[-1]
            if is_venv:
                folder = _abs(target, step.workdir) or target
                suggest = (f"ENV PATH={folder}/bin:$PATH (or call {folder}/bin/python "
                           f"directly)")
            else:
                tool = cmd.name if cmd.name in _CONDA_TOOLS else "conda"
                path = f"{target}/bin" if target.startswith("/") else (
                    "/opt/conda/bin" if target in ("base", "root") else
                    f"/opt/conda/envs/{target}/bin")
                flag = "-p" if target.startswith("/") else "-n"
                suggest = (f'SHELL ["{tool}", "run", "{flag}", "{target}", "/bin/bash", "-c"], '
                           f"`{tool} run {flag} {target} ...` in each RUN, or "
                           f"ENV PATH={path}:$PATH")
            yield Violation(
                Span(cmd.span.start, cmd.argv[-1].span.end),
                f"`{what}` is the whole RUN: the activation ends with this RUN's shell, so "
                f"later RUN, CMD and ENTRYPOINT still use the previous environment; use "
                f"{suggest}")


# ------------------------------------------------------------------------------------- MLD325
def _uv_install(cmd) -> tuple[str, object] | None:
    """``("uv pip install" | "uv pip sync" | "uv sync", word)`` for a uv command that fills the
    uv cache (the word is ``install``/``sync``)."""
    if cmd.name != "uv":
        return None
    kind = sh.pip_kind(cmd)
    if kind == "uv":
        words = sh.pip_args(cmd) or []
        if words and words[0].value in ("install", "sync"):
            return f"uv pip {words[0].value}", words[0]
        return None
    sub = _subcommand(cmd.argv[1:], _UV_VALUE_OPTS)
    if sub and sub[1] == "sync":
        return "uv sync", cmd.argv[1 + sub[0]]
    return None


def _uv_cache_dirs(step, cmd) -> list[str]:
    env = dict(step.env)
    env.update(cmd.assignments)
    out = []
    vals = [w.text for w in cmd.argv[1:]]
    for v in sh.flag_value(vals, None, "cache-dir"):
        out.append(v)
    if env.get("UV_CACHE_DIR"):
        out.append(env["UV_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        out.append(env["XDG_CACHE_HOME"].rstrip("/") + "/uv")
    home = env.get("HOME")
    if home:
        out.append(home.rstrip("/") + "/.cache/uv")
    if _is_root(step.user):
        out.append("/root/.cache/uv")
    elif step.user and "$" not in step.user:
        out.append(f"/home/{step.user.split(':')[0]}/.cache/uv")
    return [o for o in out if o]


def _uv_cache_kept_out(step, cmd) -> bool:
    """The uv cache of ``cmd`` does not end up in the layer."""
    env = dict(step.env)
    env.update(cmd.assignments)
    vals = [w.text for w in cmd.argv[1:]]
    if "--no-cache" in vals or "--no-cache-dir" in vals or "-n" in vals:
        return True  # (--no-cache-dir is uv's hidden alias for pip users)
    if "UV_NO_CACHE" in env and (env["UV_NO_CACHE"] or "").strip().lower() not in (
            "0", "false", "no", "off", ""):
        return True
    dirs = _uv_cache_dirs(step, cmd)
    for m in step.mounts:
        if m.type not in ("cache", "tmpfs") or not m.target:
            continue
        t = m.target.rstrip("/") or "/"
        if t.endswith(("/uv", "/.cache")) or "uv" in t.rsplit("/", 1)[-1] or any(
                _under(d.rstrip("/"), t) for d in dirs if d.startswith("/")):
            return True
    seen = False
    for c in step.commands:
        if c is cmd:
            seen = True
            continue
        if not seen:
            continue
        if c.name == "uv":
            sub = _subcommand(c.argv[1:], _UV_VALUE_OPTS)
            if sub and sub[1] == "cache":
                rest = [w.text for w in c.argv[2 + sub[0]:]]
                if rest[:1] in (["clean"], ["prune"]):
                    return True
        if c.name == "rm" and any(".cache" in w.raw or any(
                d and d in w.raw for d in dirs) for w in c.argv[1:]):
            return True
    return False


@rule("MLD325")
def uv_cache(df, model, ctx) -> Iterator[Violation]:
    """uv installs whose download and build cache stays in the layer."""
    for sm in model.stages:
        for step in sm.runs():
            if step.instruction.swallowed or step.script is None:
                continue
            for cmd in step.commands:
                hit = _uv_install(cmd)
                if hit is None or _uv_cache_kept_out(step, cmd):
                    continue
                what, word = hit
                dirs = _uv_cache_dirs(step, cmd)
                where = dirs[0] if dirs else "~/.cache/uv"
                if not model.ships(sm, _abs(where, step.workdir) or "/root/.cache/uv"):
                    continue
                fix = None
                if source_is(ctx, word.span, word.value or ""):
                    fix = Fix(edits=(Edit(word.span.end, word.span.end, " --no-cache"),),
                              applicability="safe", title="Add --no-cache")
                env = dict(step.env)
                env.update(cmd.assignments)
                twice = ""
                if (env.get("UV_LINK_MODE") or "").lower() == "copy" or "--link-mode=copy" in [
                        w.text for w in cmd.argv]:
                    twice = " (with link mode copy, every installed file is stored twice)"
                yield Violation(
                    span_of_words(cmd.argv[0], word),
                    f"{what} without --no-cache leaves the uv cache ({where}: unpacked and "
                    f"built wheels, index metadata) in this layer{twice}; add --no-cache, set "
                    f"ENV UV_NO_CACHE=1, or use --mount=type=cache,target={where}",
                    fix=fix)
