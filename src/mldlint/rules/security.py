"""Rules: security."""

from __future__ import annotations

import re
from typing import Iterator

from ..model.expand import expand
from ..parser.nodes import Span
from .base import Violation, rule

# --------------------------------------------------------------------------- MLD501 runs-as-root

#: knowledge-base families whose images have no shell and usually hold one static binary
_NO_SHELL_FAMILIES = frozenset({"scratch", "distroless"})
#: programs that drop privileges when the container starts (the entrypoint runs them as root on
#: purpose, then execs the server as an unprivileged user)
_PRIV_DROP = frozenset({"gosu", "su-exec", "setpriv", "runuser", "chpst", "s6-setuidgid"})


#: daemons that start as root on purpose and switch their workers to an unprivileged user
#: themselves (nginx, Apache httpd, php-fpm), or that need root to work (dockerd)
_SELF_DROPPING = frozenset({"nginx", "httpd", "httpd-foreground", "apache2", "apache2ctl",
                            "apache2-foreground", "dockerd", "dockerd-entrypoint.sh", "sshd"})
#: interactive shells and language REPLs: an image whose command is one of these bare is a base
#: or toolbox image meant to be built upon or run with a command, not a service
_REPLS = re.compile(r"(?:sh|bash|ash|dash|zsh|python[\d.]*|pypy[\d.]*|node|irb|jshell|julia|"
                    r"ghci|R|iex|erl|lua[\d.]*|perl|ruby|php|pwsh|powershell|cmd)$")
_WINDOWS_IMAGE = re.compile(r"(?:^|/)(?:windows|windowsservercore|nanoserver|servercore)"
                            r"(?:/|$)|mcr\.microsoft\.com/windows", re.IGNORECASE)


#: Docker official images (``library/``) whose image sets a non-root USER; every other official
#: image runs as root unless its Dockerfile says otherwise (a knowledge-base gap: the facts
#: table should carry these users)
_NONROOT_OFFICIAL = frozenset({"sonarqube", "jenkins", "kibana", "logstash", "elasticsearch",
                               "solr", "jetty", "rocket.chat", "haproxy", "mongo-express",
                               "nats", "eclipse-mosquitto", "neo4j"})


def _known_root_base(sm, bottom) -> bool:
    """Whether the image's base provably runs as root: the knowledge base describes it without
    a user, or it is a Docker official image (no namespace) not known to set one. Third-party
    images the knowledge base does not describe may set a user of their own (``jboss/wildfly``
    runs as ``jboss``), so they are given the benefit of the doubt."""
    facts = sm.facts
    if facts is not None:
        return not facts.user and facts.family not in _NO_SHELL_FAMILIES
    repo = bottom.base.repository.lower() if bottom.base is not None else ""
    return bool(repo) and "/" not in repo and repo not in _NONROOT_OFFICIAL


def _command_words(sm) -> list[list[str]]:
    """Per simple command of the final CMD/ENTRYPOINT, its words (wrappers included)."""
    from ..model import entrypoint_script

    out = []
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        script = entrypoint_script(ins)
        for c in (script.commands if script is not None else []):
            out.append([w.text for w in (c.full_argv or c.argv)])
    return out


def _service_command(sm) -> bool:
    """Whether the image has a command of its own that runs a program as a service or job
    (not nothing, and not a bare shell or REPL inherited from a base image)."""
    if sm.entrypoint is None and sm.cmd is None:
        return False
    cmds = _command_words(sm)
    if not cmds:
        return False
    last = cmds[-1]
    if len(last) and _REPLS.match(last[0].rsplit("/", 1)[-1]) and \
            all(a.startswith("-") for a in last[1:]):
        # a bare shell/REPL as the whole command, or as the CMD handed to an entrypoint
        # script (ENTRYPOINT ["docker-php-entrypoint"] CMD ["php", "-a"])
        if len(cmds) == 1:
            return False
        if len(cmds) == 2 and sm.entrypoint is not None and sm.cmd is not None and \
                "entrypoint" in cmds[0][0].rsplit("/", 1)[-1].lower():
            return False
    return True


def _is_windows(sm) -> bool:
    """Windows images have no root user (ContainerAdministrator/ContainerUser)."""
    bottom = sm.lineage()[-1]
    if bottom.stage.base and _WINDOWS_IMAGE.search(bottom.stage.base):
        return True
    shell = [w.lower() for w in (sm.shell or [])]
    return bool(shell) and shell[0].rsplit("\\", 1)[-1].split(".")[0] in ("cmd", "powershell",
                                                                           "pwsh")


def _is_root(user: str) -> bool:
    """Whether a USER value (``name``, ``uid``, ``name:group``) names root."""
    name = user.strip().split(":", 1)[0].strip()
    return name in ("root", "0")


def _last_user(sm):
    """``(instruction, step)`` of the last USER in ``sm``'s lineage (own stage first), or
    ``None``."""
    for st in sm.lineage():
        for step in reversed(st.steps):
            ins = step.instruction
            if ins.keyword == "USER" and not ins.swallowed and ins.args:
                return ins, step
    return None


def _drops_privileges(sm) -> bool:
    """Whether the image drops root at start-up: a privilege-dropping program (gosu, su-exec,
    setpriv...) is installed or copied in the lineage or wraps the CMD/ENTRYPOINT, or the
    command is a daemon that switches its workers to another user itself (nginx, httpd)."""
    for words in _command_words(sm):
        names = {w.rsplit("/", 1)[-1] for w in words}
        if names & _PRIV_DROP or names & _SELF_DROPPING or \
                any(n.startswith("php-fpm") for n in names):
            return True
    for prog in ("gosu", "su-exec"):
        if sm.installs_program(prog):
            return True
    for step in sm.all_runs():
        for c in step.commands:
            if any((w.value or "").rsplit("/", 1)[-1].startswith(("gosu", "su-exec"))
                   for w in c.argv):
                return True
    return False


#: base-image families whose images have a shell and shadow's ``useradd`` (Debian, Ubuntu and
#: the images built on them); Alpine variants have BusyBox ``adduser`` instead
_USERADD_FAMILIES = frozenset({"python", "debian", "ubuntu", "cuda", "pytorch", "tensorflow",
                               "ngc", "conda", "jupyter", "node", "alpine"})
#: instructions that may need root: the user switch goes after the last of them
_ROOT_STEPS = frozenset({"RUN", "COPY", "ADD", "USER", "WORKDIR", "ONBUILD"})
#: options of useradd/adduser (shadow, Debian, BusyBox) that take a value
_USERADD_VALUE_OPTS = frozenset({
    "-u", "--uid", "-g", "--gid", "-G", "--groups", "-d", "--home-dir", "--home", "-h", "-s",
    "--shell", "-c", "--comment", "--gecos", "-k", "--skel", "-K", "--key", "-p", "--password",
    "-e", "--expiredate", "-f", "--inactive", "-b", "--base-dir", "-R", "--root", "-P",
    "--prefix", "-Z", "--selinux-user", "--ingroup", "--firstuid", "--lastuid", "--conf",
    "--add_extra_groups", "--extrausers"})
_USER_NAME = re.compile(r"[a-z_][a-z0-9_.-]*\$?$")
#: the user the fix creates
_FIX_UID = "10001"
_FIX_USER = "app"


def _created_user(sm) -> str | None:
    """The last user the lineage's RUNs create with useradd/adduser: its numeric UID when
    given, else its name (``None`` when none, or when it cannot be read)."""
    found = None
    for step in sm.all_runs():
        for c in step.commands:
            if c.name not in ("useradd", "adduser"):
                continue
            vals = [w.value for w in c.argv[1:]]
            if any(v is None or "$" in v for v in vals):
                found = None
                continue
            pos: list[str] = []
            uid = None
            i = 0
            while i < len(vals):
                v = vals[i]
                name, eq, val = v.partition("=")
                if v.startswith("-") and name in _USERADD_VALUE_OPTS:
                    if not eq:
                        val = vals[i + 1] if i + 1 < len(vals) else ""
                        i += 1
                    if name in ("-u", "--uid"):
                        uid = val
                elif not v.startswith("-"):
                    pos.append(v)
                i += 1
            if len(pos) != 1 or not _USER_NAME.match(pos[0]):
                found = None  # `adduser user group` adds to a group; unknown forms
                continue
            found = uid if uid and uid.isdecimal() and uid != "0" else pos[0]
    return found


def _earlier_user(sm, root_ins) -> str | None:
    """The last non-root USER of the lineage before ``root_ins`` (a resolved value)."""
    found = None
    for st in reversed(sm.lineage()):
        for step in st.steps:
            ins = step.instruction
            if ins is root_ins:
                return found
            if ins.keyword == "USER" and not ins.swallowed and ins.args:
                value, complete = expand(ins.args[0].value, step.env)
                if complete and value.strip() and not _is_root(value):
                    found = value.strip()
    return found


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


#: text that may make MLD708 judge a switch away from root (build-time model downloads into
#: root's cache, cache folders set by ENV)
_CACHE_SIGNALS = re.compile(
    r"from_pretrained|snapshot_download|hf_hub_download|huggingface-cli|\bhf\s+download|"
    r"load_dataset|torch\.hub|SentenceTransformer|pipeline\s*\(|HF_HOME|TRANSFORMERS_CACHE|"
    r"HF_DATASETS_CACHE|TORCH_HOME|XDG_CACHE_HOME|SENTENCE_TRANSFORMERS_HOME")


def _breaks_caches(df, fix) -> bool:
    """Whether the fixed file would leave build-time downloads or cache folders unreadable or
    unwritable for the new user (what MLD708 reports): such a switch breaks the image."""
    if not _CACHE_SIGNALS.search(df.source.text):
        return False
    from ..fixer import apply_edits
    from ..model import build_model
    from ..parser import parse
    from ..source import SourceFile
    from .base import CHECKS, RuleContext

    check = CHECKS.get("MLD708")
    if check is None:
        return False
    src = SourceFile(path=df.source.path, text=apply_edits(df.source.text, fix.edits,
                                                             df.source.newline))
    try:
        new_df = parse(src)
        return next(iter(check(new_df, build_model(new_df), RuleContext(source=src))),
                    None) is not None
    except Exception:  # noqa: BLE001 - a fix that cannot be judged is not offered
        return True


def _runs_as_root_fix(df, sm, root_ins):
    """:func:`_switch_user_fix`, unless the switch breaks the image's ML caches."""
    fix = _switch_user_fix(df, sm, root_ins)
    if fix is not None and _breaks_caches(df, fix):
        return None
    return fix


def _switch_user_fix(df, sm, root_ins):
    """Switch the final stage to a non-root user before its command: a user the file already
    uses or creates, or the base's own user, else a new one with UID 10001 (``useradd`` on
    Debian/Ubuntu-based images, BusyBox ``adduser`` on Alpine). ``root_ins`` is the last
    ``USER root`` (``None`` when there is no USER). ``None`` when the base or its user tool is
    unknown."""
    from ..fixer import Edit, Fix

    facts = sm.facts
    if facts is None or facts.family not in _USERADD_FAMILIES or sm.has_program("sh") is not True:
        return None
    if any(i.keyword == "ONBUILD" and not i.swallowed
           for st in sm.lineage() for i in st.stage.instructions):
        return None  # the triggers would run as the new user in every image built from this
    text = df.source.text
    user = None
    if root_ins is not None:
        user = _earlier_user(sm, root_ins) or (facts.user if facts.user
                                               and not _is_root(facts.user) else None)
    user = user or _created_user(sm)
    if user is not None:
        lines = [f"USER {user}"]
        title = f"Switch to USER {user} before the command"
    else:
        tag = (sm.root_base.tag or "").lower() if sm.root_base is not None else ""
        if facts.family == "alpine" or "alpine" in tag:
            create = f"RUN adduser -D -u {_FIX_UID} {_FIX_USER}"
        else:
            create = f"RUN useradd --create-home --uid {_FIX_UID} --user-group {_FIX_USER}"
        lines = [create, f"USER {_FIX_UID}"]
        title = f"Add user {_FIX_USER} (UID {_FIX_UID}) and switch to it before the command"
    body = [i for i in sm.stage.instructions if not i.swallowed]
    last_root = max((n for n, i in enumerate(body) if i.keyword in _ROOT_STEPS), default=-1)
    if root_ins is not None and last_root >= 0 and body[last_root] is root_ins:
        # the USER root is the stage's last step that needs root: replace it, or drop it when
        # the user it overrides is the one to run as
        before = next((st.user for st in sm.steps if st.instruction is root_ins), None)
        start, end = root_ins.keyword_span.start, root_ins.args[-1].span.end
        line_end = text.find("\n", end)
        if before is not None and user is not None and before.strip() == user and \
                not text[_line_start(text, start):start].strip() and line_end >= 0 and \
                not text[end:line_end].strip():
            edit = Edit(_line_start(text, start), line_end + 1, "")
            return Fix((edit,), "unsafe", f"Remove USER root (keep running as {user})")
        return Fix((Edit(start, end, "\n".join(lines)),), "unsafe", title)
    target = next((i for i in body[last_root + 1:] if i.keyword in ("CMD", "ENTRYPOINT")), None)
    if target is not None:
        above = [c.span.start for c in target.comments if c.line < target.start_line]
        at = _line_start(text, min(above + [target.keyword_span.start]))
        return Fix((Edit(at, at, "\n".join(lines) + "\n"),), "unsafe", title)
    last = body[-1] if body else sm.stage.from_
    if last is None:
        return None
    eol = text.find("\n", last.span.end)
    if eol < 0:
        return Fix((Edit(len(text), len(text), "\n" + "\n".join(lines)),), "unsafe", title)
    return Fix((Edit(eol + 1, eol + 1, "\n".join(lines) + "\n"),), "unsafe", title)


@rule("MLD501")
def runs_as_root(df, model, ctx) -> Iterator[Violation]:
    """The final stage runs as root: no USER (and no non-root user from its base) or a last
    USER of root/0."""
    sm = model.final
    if sm is None:
        return
    last = _last_user(sm)
    if last is not None:
        ins, step = last
        value, complete = expand(ins.args[0].value, step.env)
        if not complete or not value.strip() or not _is_root(value):
            return  # a non-root user, or one we cannot resolve
        if _drops_privileges(sm):
            return
        yield Violation(
            Span(ins.keyword_span.start, ins.args[0].span.end),
            f"the last USER of the final stage is {value.strip()!r}, so the container runs as "
            "root; switch to an unprivileged user with a numeric UID (e.g. USER 10001) after the "
            "steps that need root", fix=_runs_as_root_fix(df, sm, ins))
        return
    # no USER anywhere in the lineage
    if sm.stage.from_ is None:
        return  # a fragment: its base is unknown
    bottom = sm.lineage()[-1]
    if bottom.stage.from_ is None or not bottom.base_complete or bottom.base is None \
            or "%" in (bottom.stage.base or ""):
        return  # FROM ${BASE} with no default, or a template: the base may set a user
    if _is_windows(sm) or not _service_command(sm):
        return
    if (bottom.stage.base or "").strip().lower() == "scratch" or not _known_root_base(sm, bottom):
        return
    if sm.user and not _is_root(sm.user):
        return
    if _drops_privileges(sm):
        return
    fr = sm.stage.from_
    end = fr.args[0].span.end if fr.args else fr.keyword_span.end
    image = bottom.base.raw if bottom.base is not None else (bottom.stage.base or "its base")
    yield Violation(
        Span(fr.keyword_span.start, end),
        f"the final stage has no USER and {image} runs as root by default, so the container "
        "runs as root; add a user with a numeric UID (RUN useradd --create-home --uid 10001 app) "
        "and USER 10001 before CMD/ENTRYPOINT", fix=_runs_as_root_fix(df, sm, None))


# ------------------------------------------------------------------ MLD502 secret-in-arg-or-env

_SECRET_WORDS = frozenset({"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIAL",
                           "CREDENTIALS"})
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"),
                           ("AUTH", "TOKEN")})
#: words that make a name point at a secret (or describe one) rather than hold it; the RULES.md
#: list plus plurals and the size/limit words of ML servers (MAX_TOKEN_LENGTH, TOKEN_LIMIT)
_EXCLUDE_WORDS = frozenset({
    "PUBLIC", "FILE", "FILES", "PATH", "PATHS", "DIR", "DIRS", "URL", "URLS", "URI", "URIS",
    "ENDPOINT", "VERSION", "MODE",
    "ENABLE", "ENABLED", "DISABLE", "DISABLED", "TYPE", "SHA", "SUM", "HASH", "COMMIT",
    "REVISION", "DIGEST", "MAX", "MIN", "LEN", "LENGTH", "LIMIT", "SIZE", "COUNT", "NUM",
})
_EMPTY_LIKE = frozenset({"", "none", "null", "false", "true", "0", "1", "no", "yes", "off",
                         "on"})
#: prefixes of well-known credential formats, each followed by a long token-like tail
_CREDENTIAL_PREFIX = re.compile(r"hf_|sk-|ghp_|gho_|ghs_|github_pat_|AKIA|xox[abprs]-")
_CREDENTIAL_VALUE = re.compile(rf"(?:{_CREDENTIAL_PREFIX.pattern})[A-Za-z0-9_\-]{{16,}}$")
#: a URL with a literal password (``https://user:pass@host``); ``user:${TOKEN}@`` is not
#: literal (the variable may come from a secret) and is left alone
_URL_PASSWORD = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^/\s:@$]{1,256}:(?![$])"
                           r"[^/\s@$]{1,256}@", re.IGNORECASE)
#: splits a name into words: at ``_``/``-``/``.``, and at case changes (``hfToken``,
#: ``HFToken`` -> ``HF Token``)
_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_words(name: str) -> list[str]:
    """The upper-cased words of a variable name: split at ``_``, ``-`` and ``.``, and at
    lower-to-upper case changes in camelCase names (``hfApiKey`` -> ``HF API KEY``).

    An all-upper or all-lower part is one word (``TOKENIZERS`` stays one word)."""
    out = []
    for part in re.split(r"[_\-.]+", name):
        if not part:
            continue
        if part.isupper() or part.islower() or part.upper() == part:
            out.append(part.upper())
        else:
            out.extend(w.upper() for w in _WORD_RE.findall(part))
    return out


def secret_name(name: str) -> bool:
    """Whether a variable name says it holds a secret (see MLD502's rationale)."""
    words = name_words(name)
    if any(w in _EXCLUDE_WORDS for w in words):
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any((a, b) in _SECRET_PAIRS for a, b in zip(words, words[1:]))


_FILE_NAME = re.compile(r"[\w.-]+\.(?:json|pem|key|p12|pfx|crt|cer|txt|ya?ml|ini|cfg|conf|env)$",
                        re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"<[^>]*>|\[[^\]]*\]|\*\*[^*]*\*\*|\{\{.*\}\}|%[^%]+%|(?:change[_-]?me|required|"
    r"placeholder|replace[_-]?me|todo|tbd|x{3,})|(?:your|replace|set|insert|enter)[_\- ].*",
    re.IGNORECASE)


def _harmless_value(value: str) -> bool:
    """Literal values that are no secret: empty-like or boolean, a file name or path (the
    secret is elsewhere), or an obvious placeholder (``<token>``, ``**ChangeMe**``,
    ``YOUR_API_KEY``)."""
    v = value.strip()
    if v.lower() in _EMPTY_LIKE:
        return True
    return bool(_FILE_NAME.fullmatch(v) or _PLACEHOLDER.fullmatch(v.strip("!")))


def _points_to_file(value: str) -> bool:
    """A value (literal or not) that is a filesystem path: it names where the secret is."""
    return value.strip().startswith(("/", "./", "../", "~/"))


def _arg_name_span(arg, name: str) -> Span:
    return Span(arg.span.start, arg.span.start + len(name)) \
        if arg.span.end - arg.span.start >= len(name) else arg.span


def _strip_quotes(v: str) -> str:
    """A value with its shell-style quotes removed (enough to judge what it holds)."""
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v.replace('"', "").replace("'", "")


def _declarations(df):
    """``(keyword, name, name_span, value)`` of every ARG and ENV, in the preamble and in every
    stage (``value`` is ``None`` for an ARG without a default, else the text as written with
    quotes removed). BuildKit reports ``ARG A=1`` as one argument and ``ENV A=1`` as two."""
    for ins in df.instructions:
        if ins.swallowed or ins.keyword not in ("ARG", "ENV"):
            continue
        if ins.keyword == "ARG":
            for arg in ins.args:
                name, eq, val = arg.value.partition("=")
                yield "ARG", name, _arg_name_span(arg, name), (_strip_quotes(val) if eq else None)
        else:
            for i in range(0, len(ins.args) - 1, 2):
                key, val = ins.args[i], ins.args[i + 1]
                yield "ENV", key.value, key.span, _strip_quotes(val.value)


@rule("MLD502")
def secret_in_arg_or_env(df, model, ctx) -> Iterator[Violation]:
    """An ARG or ENV that carries a secret (by its name or by a credential-like literal
    value)."""
    for kw, name, span, val in _declarations(df):
        literal = val is not None and "$" not in val
        where = ("build arguments are recorded in the image history" if kw == "ARG"
                 else "ENV values are stored in the image config, readable with docker inspect")
        sid = name.lower()
        suggestion = (f"pass it with RUN --mount=type=secret,id={sid},env={name} ... "
                      f"(docker build --secret id={sid},env={name})")
        if secret_name(name):
            if val is not None and val.strip() == "" and kw == "ARG":
                pass  # `ARG TOKEN=` waits for --build-arg exactly like `ARG TOKEN`
            elif val is not None and (_points_to_file(val) or literal and _harmless_value(val)):
                continue
            yield Violation(span, f"{kw} {name} holds a secret: {where}; {suggestion}")
        elif val is not None and _URL_PASSWORD.search(val):
            yield Violation(span, f"the value of {kw} {name} is a URL with a password in it "
                                  f"(user:password@host): {where}; {suggestion}")
        elif literal:
            m = _CREDENTIAL_VALUE.match(val.strip())
            if m and "/" not in val:
                prefix = _CREDENTIAL_PREFIX.match(val.strip()).group(0)
                yield Violation(span, f"the value of {kw} {name} looks like a credential "
                                      f"(it starts with {prefix!r}): {where}; {suggestion}")
