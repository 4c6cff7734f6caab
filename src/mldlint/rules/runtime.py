"""Rules: runtime."""

from __future__ import annotations

import re
from typing import Iterator

from ..model import entrypoint_commands
from ..model.commands import argv_text, program_name, python_target
from ..parser.nodes import Span
from .base import Violation, rule

# ------------------------------------------------------------------------------ shared helpers


# ----------------------------------------------------- MLD601 serving-image-without-healthcheck

#: programs that are servers whatever their arguments (except the listed non-serving flags)
_SERVER_PROGRAMS = {
    "uvicorn": "uvicorn", "gunicorn": "gunicorn", "hypercorn": "hypercorn", "daphne": "daphne",
    "waitress-serve": "waitress-serve", "torchserve": "torchserve",
    "tritonserver": "tritonserver", "tensorflow_model_server": "tensorflow_model_server",
    "text-generation-launcher": "text-generation-launcher", "nginx": "nginx",
}
#: flags after which these programs print something and exit instead of serving
_NON_SERVING_FLAGS = frozenset({"--version", "-v", "-V", "-h", "--help", "-t", "-T", "-s",
                                "--stop"})
#: ``program subcommand...`` servers
_SERVER_SUBCOMMANDS = {
    "flask": (("run",),), "streamlit": (("run",),), "vllm": (("serve",),),
    "bentoml": (("serve",), ("serve-http",), ("serve-grpc",)),
    "mlflow": (("models", "serve"), ("server",)), "serve": (("run",),),
    "fastapi": (("run",),), "ollama": (("serve",),),
}
#: ``python -m`` modules that are servers (a prefix match for vllm's entrypoints)
_SERVER_MODULES = {"uvicorn", "gunicorn", "hypercorn", "daphne", "waitress"}


def server_of(argv: list[str]) -> str | None:
    """The known server an argv starts (``"uvicorn"``, ``"vllm serve"``, ...), or ``None``."""
    if not argv:
        return None
    py = python_target(argv)
    if py is not None:
        kind, target, rest = py
        if kind != "m":
            return None
        if target in _SERVER_MODULES:
            return f"python -m {target}"
        if target.startswith("vllm.entrypoints"):
            return f"python -m {target}"
        top = target.split(".", 1)[0]
        if target == top and top in _SERVER_SUBCOMMANDS:
            argv = [top] + rest
        else:
            return None
    prog = program_name(argv[0])
    if prog in _SERVER_PROGRAMS:
        if any(a in _NON_SERVING_FLAGS for a in argv[1:]):
            return None
        return _SERVER_PROGRAMS[prog]
    if prog in _SERVER_SUBCOMMANDS:
        words = [a for a in argv[1:] if not a.startswith("-")]
        for sub in _SERVER_SUBCOMMANDS[prog]:
            if tuple(words[:len(sub)]) == sub:
                return " ".join((prog,) + sub)
    return None


def find_server(sm, source_text):
    """``(server, instruction, command)`` of the first known server the stage's
    ENTRYPOINT/CMD starts, else ``None``."""
    for ins in (sm.entrypoint, sm.cmd):
        if ins is None:
            continue
        for c in entrypoint_commands(ins, source_text):
            name = server_of(argv_text(c))
            if name:
                return name, ins, c
    ep, cmd = sm.entrypoint, sm.cmd
    if ep is not None and cmd is not None and ep.is_json and cmd.is_json:
        name = server_of(list(ep.values) + list(cmd.values))
        if name:
            return name, cmd, None
    return None


_PORT_FLAGS = ("--port", "-p", "--server.port", "--http-port", "--rest_api_port")
_BIND_FLAGS = ("--bind", "-b", "--host-port")


def _served_port(argv: list[str], sm) -> str | None:
    """The port a server command line listens on (``--port 8000``, ``-b 0.0.0.0:8000``), else
    the stage's first EXPOSEd port, else ``None``."""
    for i, a in enumerate(argv):
        name, eq, val = a.partition("=")
        if name in _PORT_FLAGS + _BIND_FLAGS:
            if not eq:
                val = argv[i + 1] if i + 1 < len(argv) else ""
            port = val.rsplit(":", 1)[-1] if name in _BIND_FLAGS else val
            if port.isdecimal():
                return port
    for e in sm.exposes:
        port = e.split("/", 1)[0]
        if port.isdecimal():
            return port
    return None


#: health endpoints of servers that have a fixed one (the others serve an app whose routes are
#: unknown: ``/health`` is a guess)
_HEALTH_PATHS = {
    "tritonserver": "/v2/health/ready", "torchserve": "/ping", "bentoml serve": "/healthz",
    "bentoml serve-http": "/healthz", "serve run": "/-/healthz",
    "streamlit run": "/_stcore/health", "ollama serve": "/", "nginx": "/",
}
#: servers whose port cannot be read from EXPOSE alone (TF Serving exposes gRPC first)
_NEEDS_PORT_FLAG = frozenset({"tensorflow_model_server"})
#: gRPC-only servers: no HTTP probe
_NO_HTTP = frozenset({"bentoml serve-grpc"})
#: the HEALTHCHECK options of the fix (model servers take a while to load their weights)
_HC_OPTIONS = "--interval=30s --timeout=5s --start-period=120s --retries=3"


def _python_probe(sm) -> str | None:
    """``python3`` when the image provably has a Python 3 (installed, or a base that ships
    one), else ``None``."""
    if sm.has_program("python3") is True:
        return "python3"
    facts = sm.facts
    base = sm.root_base
    if facts is None or "python" not in facts.has or base is None:
        return None
    tag = (base.tag or "latest").lower()
    if re.search(r"windows|nanoserver", tag) or \
            facts.family == "python" and re.match(r"2(?:\.|$)", tag):
        return None  # Windows images have no python3; python:2.7
    if facts.family == "tensorflow" and re.match(r"1\.", tag) and "py3" not in tag:
        return None  # TensorFlow 1.x images without -py3 run Python 2
    return "python3"


def _url_probe(sm, url: str, exec_form: bool) -> str | None:
    """A HEALTHCHECK command (what follows ``CMD``) that fails unless ``url`` answers with a
    2xx/3xx status, with a program the image has: curl when installed, else Python's urllib;
    exec form when the image may have no shell."""
    if sm.has_program("curl") is True and sm.has_program("sh") is True and not exec_form:
        return f"curl -fsS -o /dev/null {url} || exit 1"
    py = _python_probe(sm)
    if py is None:
        return None
    code = f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"
    if exec_form or sm.has_program("sh") is not True:
        import json

        return json.dumps([py, "-c", code])
    return f'{py} -c "{code}"'


def _healthcheck_fix(df, sm, name: str, cmd, port: str | None):
    """Add a HEALTHCHECK probing the server's health endpoint before the final stage's
    command (at the end of the stage when the command is inherited)."""
    from ..fixer import Edit, Fix

    if port is None or name in _NO_HTTP:
        return None
    if name in _NEEDS_PORT_FLAG and not any(
            a.split("=", 1)[0] == "--rest_api_port" for a in (argv_text(cmd) if cmd else [])):
        return None
    path = _HEALTH_PATHS.get(name, "/health")
    if name == "tensorflow_model_server":
        model = next((a.split("=", 1)[1] for a in argv_text(cmd) if a.startswith("--model_name=")),
                     None)
        if not model or not re.fullmatch(r"[\w.-]+", model):
            return None
        path = f"/v1/models/{model}"
    probe = _url_probe(sm, f"http://127.0.0.1:{port}{path}", exec_form=False)
    if probe is None:
        return None
    line = f"HEALTHCHECK {_HC_OPTIONS} {df.escape}\n    CMD {probe}"
    text = df.source.text
    body = [i for i in sm.stage.instructions if not i.swallowed]
    target = next((i for i in body if i.keyword in ("CMD", "ENTRYPOINT")), None)
    title = f"Add a HEALTHCHECK probing {path} on port {port}"
    if target is not None:
        above = [c.span.start for c in target.comments if c.line < target.start_line]
        at = text.rfind("\n", 0, min(above + [target.keyword_span.start])) + 1
        return Fix((Edit(at, at, line + "\n"),), "unsafe", title)
    last = body[-1] if body else sm.stage.from_
    if last is None:
        return None
    eol = text.find("\n", last.span.end)
    if eol < 0:
        return Fix((Edit(len(text), len(text), "\n" + line),), "unsafe", title)
    return Fix((Edit(eol + 1, eol + 1, line + "\n"),), "unsafe", title)


@rule("MLD601")
def serving_image_without_healthcheck(df, model, ctx) -> Iterator[Violation]:
    """The final stage starts a known model/web server and has no HEALTHCHECK."""
    sm = model.final
    if sm is None or sm.healthcheck is not None:
        return
    found = find_server(sm, ctx.source.text)
    if found is None:
        return
    name, ins, cmd = found
    in_final = any(s.instruction is ins for s in sm.steps)
    if not in_final:
        fr = sm.stage.from_
        if fr is None:
            return
        span = Span(fr.keyword_span.start, fr.args[0].span.end if fr.args else fr.keyword_span.end)
    elif cmd is not None and cmd.span.end > cmd.span.start:
        span = cmd.span
    else:
        span = ins.keyword_span
    port = _served_port(argv_text(cmd) if cmd is not None else [], sm)
    fix = _healthcheck_fix(df, sm, name, cmd, port)
    port = port or "PORT"
    yield Violation(
        span,
        f"the image starts a server ({name}) but has no HEALTHCHECK: Docker only sees that the "
        "process exists, not that the model is loaded and answering; add a HEALTHCHECK that "
        "probes the health endpoint (e.g. python -c \"import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=2)\")", fix=fix)


# ---------------------------------------------------------- MLD602 healthcheck-binary-missing

_PROBES = ("curl", "wget", "nc")
_URL_RE = re.compile(r"https?://[^\s'\"]+$")
#: distribution packages that provide each probe program
_PROBE_PACKAGES = {
    "curl": frozenset({"curl"}),
    "wget": frozenset({"wget", "busybox", "busybox-extras"}),
    "nc": frozenset({"netcat", "netcat-openbsd", "netcat-traditional", "ncat", "nmap-ncat",
                     "nmap", "busybox-extras", "nc"}),
}
_PKG_MANAGERS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper",
                           "pacman", "conda", "mamba", "micromamba", "pixi", "brew", "spack",
                           "tdnf", "emerge", "nix-env"})
#: COPY sources that may bring whole bin folders (the program could be among them)
_BIN_TREES = frozenset({"/", "/usr", "/usr/bin", "/bin", "/usr/local", "/usr/local/bin",
                        "/sbin", "/usr/sbin"})


def _pkg_name(word: str) -> str:
    return re.split(r"[=<>~:]", word, 1)[0].lower()


def _may_have(sm, program: str) -> bool:
    """Extra evidence (beyond :meth:`StageModel.installs_program`) that the image may hold
    ``program``: any package manager call naming a package that provides it, or a COPY of a
    whole bin folder from another stage or image."""
    pkgs = _PROBE_PACKAGES.get(program, frozenset({program}))
    for step in sm.all_runs():
        for a in step.apt:
            if any(p.name.lower() in pkgs for p in a.packages):
                return True
        for c in step.commands:
            if c.name in _PKG_MANAGERS and any(
                    w.value and _pkg_name(w.value) in pkgs for w in c.args):
                return True
    for st in sm.lineage():
        for cp in st.copies:
            if cp.from_ref and any((s.rstrip("/") or "/") in _BIN_TREES for s in cp.sources):
                return True
    return False


def _lacks(sm, program: str) -> bool:
    """Whether the final image provably lacks ``program``."""
    return sm.has_program(program) is False and not _may_have(sm, program)


def _has(sm, program: str) -> bool:
    return sm.has_program(program) is True or _may_have(sm, program)


#: per probe program: short flags without a value, short flags with one, long flags without a
#: value, long flags with one (what a urllib probe can stand in for: quiet output, fail on
#: HTTP errors, follow redirects, timeouts, output discarded)
_PROBE_OPTS = {
    "curl": ("fsSLIq", "omy", {"--fail", "--silent", "--show-error", "--location", "--head",
                               "--fail-with-body"},
             {"--output", "--max-time", "--connect-timeout", "--retry", "--retry-delay",
              "--retry-max-time"}),
    "wget": ("qS", "OTt", {"--quiet", "--spider", "--no-verbose", "-nv", "--server-response"},
             {"--output-document", "--timeout", "--tries"}),
}
_OUTPUT_OPTS = {"-o", "--output", "-O", "--output-document"}


def _probe_url(cmd) -> str | None:
    """The URL a simple curl/wget health probe fetches, when nothing else in the command
    matters to the result (quiet, fail, redirect, timeout, output-to-nowhere options)."""
    spec = _PROBE_OPTS.get(cmd.name)
    if spec is None or any(r.op not in (">", ">&", "&>") or r.target is None or
                           (r.target.value or "") not in ("/dev/null", "1", "2")
                           for r in cmd.redirects):
        return None
    short_bool, short_val, long_bool, long_val = spec
    vals = [w.value for w in cmd.argv[1:]]
    if any(v is None for v in vals):
        return None
    urls = []
    i = 0
    while i < len(vals):
        v = vals[i]
        value = None
        if v.startswith("--") or v == "-nv":
            name, eq, val = v.partition("=")
            if name in long_val:
                value = val if eq else (vals[i + 1] if i + 1 < len(vals) else None)
                i += 0 if eq else 1
                if value is None:
                    return None
                if name in _OUTPUT_OPTS and value not in ("/dev/null", "-"):
                    return None
            elif name not in long_bool or eq:
                return None
        elif v.startswith("-") and len(v) > 1:
            for j, ch in enumerate(v[1:], 1):
                if ch in short_bool:
                    continue
                if ch in short_val:
                    value = v[j + 1:] or (vals[i + 1] if i + 1 < len(vals) else None)
                    if not v[j + 1:]:
                        i += 1
                    if value is None or ("-" + ch) in _OUTPUT_OPTS and \
                            value not in ("/dev/null", "-"):
                        return None
                    break
                return None
        elif _URL_RE.match(v) and not re.search(r"['\\\\$`]", v):
            urls.append(v)
        else:
            return None
        i += 1
    return urls[0] if len(urls) == 1 else None


def _python_probe_fix(df, sm, hc, cmds, prog: str):
    """Rewrite a HEALTHCHECK whose whole command is ``curl/wget URL [|| exit 1]`` to fetch the
    same URL with Python's urllib, when the stage holding it provably has Python 3."""
    from ..fixer import Edit, Fix

    holder = next((st for st in sm.lineage() if any(s.instruction is hc for s in st.steps)),
                  None)
    if holder is None or not hc.args or hc.args[0].value.upper() != "CMD" or len(hc.args) < 2:
        return None
    py = _python_probe(holder)
    if py is None or not cmds or cmds[0].name != prog:
        return None
    text = df.source.text
    if len(cmds) == 2:
        ex = cmds[1]
        if ex.name != "exit" or [w.value for w in ex.argv[1:]] not in ([], ["1"]) or \
                not re.fullmatch(r"(?:\s|\\\n)*\|\|(?:\s|\\\n)*",
                                 text[cmds[0].span.end:ex.span.start]):
            return None
    elif len(cmds) != 1:
        return None
    if cmds[0].wrappers and not hc.is_json or cmds[0].assignments or cmds[0].negated:
        return None  # (an exec-form array is replaced whole, `sh -c` or `timeout 5` included)
    url = _probe_url(cmds[0])
    if url is None:
        return None
    # answer within the HEALTHCHECK's own timeout (Docker's default is 30s)
    m = re.fullmatch(r"(\d+)s", (hc.flag("timeout").value or "") if hc.flag("timeout") else "")
    limit = min(4, max(1, int(m.group(1)) - 1)) if m else 4
    code = f"import urllib.request; urllib.request.urlopen('{url}', timeout={limit})"
    title = f"Probe {url} with Python instead of {prog}"
    if hc.is_json:
        import json

        start = text.rfind("[", hc.args[0].span.end, hc.args[1].span.start + 1)
        end = text.find("]", hc.args[-1].span.end)
        if start < 0 or end < 0 or text[hc.args[-1].span.end:end].strip(' \t"'):
            return None
        return Fix((Edit(start, end + 1, json.dumps([py, "-c", code])),), "unsafe", title)
    if holder.has_program("sh") is not True:
        return None
    # the probe and its `|| exit 1` (a shell comment after them stays)
    end = max([cmds[-1].span.end] + [r.span.end for c in cmds for r in c.redirects])
    return Fix((Edit(cmds[0].span.start, end, f'{py} -c "{code}"'),), "unsafe", title)


@rule("MLD602")
def healthcheck_binary_missing(df, model, ctx) -> Iterator[Violation]:
    """The HEALTHCHECK calls curl/wget/nc, which the final image provably lacks."""
    sm = model.final
    if sm is None or sm.healthcheck is None:
        return
    hc = sm.healthcheck
    cmds = entrypoint_commands(hc, ctx.source.text)
    names = [c.name for c in cmds]
    # a probe that is guarded (`command -v curl`) or has a working fallback is not a problem
    guarded = {w.value for c in cmds if c.name in ("command", "which", "type", "hash")
               for w in c.args if w.value}
    if any(p in names and _has(sm, p) for p in _PROBES):
        return
    if any(p in names for p in ("python", "python3")) and _has(sm, "python"):
        return
    reported = set()
    in_final = any(s.instruction is hc for s in sm.steps)
    for c in cmds:
        prog = c.name
        if prog not in _PROBES or prog in reported or prog in guarded:
            continue
        if not _lacks(sm, prog):
            continue
        reported.add(prog)
        image = sm.root_base.raw if sm.root_base is not None else "the base image"
        if sm.has_program("python") is True:
            url = next((w.value for w in c.args if w.value and _URL_RE.match(w.value)),
                       "http://127.0.0.1:PORT/health")
            advice = ("probe with Python instead: python -c \"import sys, urllib.request; "
                      f"sys.exit(0 if urllib.request.urlopen('{url}', "
                      "timeout=2).status == 200 else 1)\"")
        elif prog == "curl" and sm.has_program("wget") is True:
            advice = "use wget -q -O /dev/null URL (the image has wget) or install curl"
        else:
            advice = f"install {prog} in the final stage"
        span = c.argv[0].span if in_final else (sm.stage.from_.keyword_span
                                                if sm.stage.from_ is not None else hc.keyword_span)
        yield Violation(
            span,
            f"HEALTHCHECK calls {prog}, but {image} has no {prog} and no stage of this image "
            f"installs it: the check fails with '{prog}: not found' and the container is marked "
            f"unhealthy forever; {advice}", fix=_python_probe_fix(df, sm, hc, cmds, prog))


# ------------------------------------------------------------------ MLD603 heavy-healthcheck

_HEAVY_MODULES = ("tensorflow", "torch", "jax", "keras", "tf_keras", "transformers",
                  "sentence_transformers", "paddle", "mxnet")
_IMPORT_RE = re.compile(
    r"(?:^|[;\n]|\bthen\b)\s*(?:import\s+([\w.]+(?:\s*(?:as\s+\w+)?\s*,\s*[\w.]+)*)"
    r"|from\s+([\w.]+)\s+import\b)")
_LOAD_RE = re.compile(r"\.from_pretrained\s*\(|\btorch\.load\s*\(|\bload_model\s*\(|"
                      r"\bpipeline\s*\(|\bSentenceTransformer\s*\(|\bjoblib\.load\s*\(|"
                      r"\bpickle\.load\s*\(")


def heavy_python(code: str) -> str | None:
    """What makes a ``python -c`` body heavy: the ML framework it imports or the model-loading
    call it makes (``"imports torch"``, ``"calls from_pretrained("``), else ``None``."""
    for m in _IMPORT_RE.finditer(code):
        mods = m.group(1) or m.group(2) or ""
        for part in mods.split(","):
            mod = part.strip().split()[0] if part.strip() else ""
            top = mod.split(".", 1)[0]
            if top in _HEAVY_MODULES:
                return f"imports {top}"
    m = _LOAD_RE.search(code)
    if m:
        return f"calls {m.group(0).lstrip('.').replace(' ', '')}"
    return None


@rule("MLD603")
def heavy_healthcheck(df, model, ctx) -> Iterator[Violation]:
    """A HEALTHCHECK imports an ML framework or loads a model on every interval."""
    for ins in df.instructions:
        if ins.keyword != "HEALTHCHECK" or ins.swallowed:
            continue
        for c in entrypoint_commands(ins, ctx.source.text):
            argv = argv_text(c)
            py = python_target(argv)
            what = None
            if py is not None:
                kind, target, _ = py
                if kind == "c":
                    what = heavy_python(target)
                elif kind == "m" and target.split(".", 1)[0] in _HEAVY_MODULES:
                    what = f"imports {target.split('.', 1)[0]}"
            if what is None:
                continue
            yield Violation(
                c.span if c.span.end > c.span.start else ins.keyword_span,
                f"the HEALTHCHECK {what} on every run: seconds of CPU and up to GBs of RAM per "
                "interval, competing with the server, and it does not show that the server "
                "answers; probe the server's health endpoint instead (curl, or python -c "
                "\"import urllib.request; urllib.request.urlopen('http://127.0.0.1:PORT/health', "
                "timeout=2)\")")
            break
