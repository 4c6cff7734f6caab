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


def _find_server(sm, source_text):
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
            if port.isdigit():
                return port
    for e in sm.exposes:
        port = e.split("/", 1)[0]
        if port.isdigit():
            return port
    return None


@rule("MLD601")
def serving_image_without_healthcheck(df, model, ctx) -> Iterator[Violation]:
    """The final stage starts a known model/web server and has no HEALTHCHECK."""
    sm = model.final
    if sm is None or sm.healthcheck is not None:
        return
    found = _find_server(sm, ctx.source.text)
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
    port = _served_port(argv_text(cmd) if cmd is not None else [], sm) or "PORT"
    yield Violation(
        span,
        f"the image starts a server ({name}) but has no HEALTHCHECK: Docker only sees that the "
        "process exists, not that the model is loaded and answering; add a HEALTHCHECK that "
        "probes the health endpoint (e.g. python -c \"import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=2)\")")


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
            f"unhealthy forever; {advice}")


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
