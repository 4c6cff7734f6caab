"""MLD601-MLD603 (health checks): what a user sees."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.rules.runtime import heavy_python, server_of
from mldlint.source import SourceFile


def lint(text: str, rule: str):
    src = SourceFile.from_text(textwrap.dedent(text), "Dockerfile")
    found = lint_source(src, {rule, "MLD004"}, None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


# ------------------------------------------------------------------------------------ MLD601

def test_601_exec_form_uvicorn():
    hits = lint("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir fastapi==0.104.1 uvicorn==0.24.0
        EXPOSE 8000
        CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
        """, "MLD601")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column) == (4, 7)
    assert "uvicorn" in d.message and "HEALTHCHECK" in d.message
    assert "127.0.0.1:8000/health" in d.message
    assert d.severity == "warning"


def test_601_shell_form_through_sh_c_and_wrappers():
    hits = lint("""\
        FROM python:3.11-slim
        ENTRYPOINT ["tini", "--"]
        CMD ["sh", "-c", "python download.py && exec gunicorn -b 0.0.0.0:9000 app:app"]
        """, "MLD601")
    assert [(d.line, d.column) for d in hits] == [(3, 41)]
    assert "gunicorn" in hits[0].message and ":9000/health" in hits[0].message


def test_601_entrypoint_joined_with_cmd():
    hits = lint("""\
        FROM python:3.11-slim
        ENTRYPOINT ["flask"]
        CMD ["run", "--host=0.0.0.0"]
        """, "MLD601")
    assert [d.line for d in hits] == [3]
    assert "flask run" in hits[0].message


def test_601_inherited_cmd_reported_at_final_from():
    hits = lint("""\
        FROM python:3.11-slim AS app
        CMD ["python", "-m", "uvicorn", "app:app", "--port", "8080"]
        FROM app
        COPY model.bin /models/
        """, "MLD601")
    assert [(d.line, d.column) for d in hits] == [(3, 1)]
    assert "python -m uvicorn" in hits[0].message


@pytest.mark.parametrize("argv,server", [
    (["uvicorn", "a:b"], "uvicorn"),
    (["/opt/venv/bin/gunicorn", "a:b"], "gunicorn"),
    (["python3", "-u", "-m", "uvicorn", "a:b"], "python -m uvicorn"),
    (["python", "-m", "vllm.entrypoints.openai.api_server"],
     "python -m vllm.entrypoints.openai.api_server"),
    (["vllm", "serve", "meta-llama/Llama-3.1-8B"], "vllm serve"),
    (["python", "-m", "flask", "run"], "flask run"),
    (["streamlit", "run", "app.py"], "streamlit run"),
    (["mlflow", "models", "serve", "-m", "runs:/x/model"], "mlflow models serve"),
    (["bentoml", "serve", "service:svc"], "bentoml serve"),
    (["serve", "run", "config.yaml"], "serve run"),
    (["torchserve", "--start", "--model-store", "/m"], "torchserve"),
    (["tritonserver", "--model-repository=/models"], "tritonserver"),
    (["tensorflow_model_server", "--port=8500"], "tensorflow_model_server"),
    (["text-generation-launcher", "--model-id", "x"], "text-generation-launcher"),
    (["waitress-serve", "--port=8000", "a:b"], "waitress-serve"),
    (["nginx", "-g", "daemon off;"], "nginx"),
    (["python", "app.py"], None),
    (["python", "train.py", "--serve"], None),
    (["nginx", "-t"], None),
    (["gunicorn", "--version"], None),
    (["torchserve", "--stop"], None),
    (["flask", "db", "upgrade"], None),
    (["vllm", "bench"], None),
    (["jupyter", "lab"], None),
    (["tensorboard", "--logdir", "/logs"], None),
])
def test_601_server_of(argv, server):
    assert server_of(argv) == server


@pytest.mark.parametrize("text", [
    # own healthcheck
    """\
    FROM python:3.11-slim
    HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
    CMD ["uvicorn", "app:app"]
    """,
    # inherited healthcheck
    """\
    FROM python:3.11-slim AS base
    HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"
    FROM base
    CMD ["uvicorn", "app:app"]
    """,
    # explicitly disabled
    """\
    FROM python:3.11-slim
    HEALTHCHECK NONE
    CMD ["uvicorn", "app:app"]
    """,
    # EXPOSE alone, training image
    """\
    FROM tensorflow/tensorflow:2.12.0-gpu
    EXPOSE 6006
    CMD ["python", "train_tf.py"]
    """,
    # an unknown python script
    """\
    FROM python:3.11-slim
    EXPOSE 8000
    CMD ["python", "app.py"]
    """,
    # a server in a builder stage only
    """\
    FROM python:3.11-slim AS test
    CMD ["uvicorn", "app:app"]
    FROM python:3.11-slim
    CMD ["python", "batch.py"]
    """,
])
def test_601_quiet(text):
    assert lint(text, "MLD601") == []


# ------------------------------------------------------------------------------------ MLD602

def test_602_curl_on_slim_reported_at_the_probe():
    hits = lint("""\
        FROM python:3.12-slim
        USER 1000
        EXPOSE 8080
        HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://localhost:8080/healthz || exit 1
        CMD ["gunicorn", "-b", "0.0.0.0:8080", "server:app"]
        """, "MLD602")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_line, d.end_column) == (4, 45, 4, 49)
    assert "curl" in d.message and "python:3.12-slim" in d.message
    assert "urllib.request.urlopen('http://localhost:8080/healthz'" in d.message
    assert d.severity == "error"


def test_602_multistage_seed02():
    hits = lint("""\
        FROM python:3.10 AS builder
        RUN apt-get update && apt-get install -y curl
        RUN pip install --user --no-cache-dir -r requirements.txt

        FROM python:3.10-slim
        COPY --from=builder /root/.local /root/.local
        USER mluser
        HEALTHCHECK --interval=30s --timeout=3s \\
            CMD curl -f http://localhost:8000/health || exit 1
        CMD ["python", "app.py"]
        """, "MLD602")
    assert [(d.line, d.column) for d in hits] == [(9, 9)]


def test_602_exec_form_and_alpine_advice():
    hits = lint("""\
        FROM alpine:3.20
        COPY server /usr/local/bin/server
        HEALTHCHECK CMD ["curl", "-f", "http://localhost:9000/health"]
        CMD ["/usr/local/bin/server"]
        """, "MLD602")
    assert [(d.line, d.column) for d in hits] == [(3, 19)]
    assert "alpine:3.20" in hits[0].message and "wget" in hits[0].message


def test_602_inherited_healthcheck_reported_at_final_from():
    hits = lint("""\
        FROM debian:bookworm-slim AS base
        HEALTHCHECK CMD nc -z localhost 8080
        FROM base
        CMD ["/app/server"]
        """, "MLD602")
    assert [(d.line, d.column) for d in hits] == [(3, 1)]
    assert "nc" in hits[0].message


@pytest.mark.parametrize("text", [
    # installed in the final stage (healthcheck-curl-installed)
    """\
    FROM python:3.12-slim
    RUN apt-get update \\
        && apt-get install -y --no-install-recommends curl \\
        && rm -rf /var/lib/apt/lists/*
    USER 1000
    HEALTHCHECK --interval=30s --timeout=3s --start-period=30s CMD curl -fsS http://localhost:8080/healthz || exit 1
    CMD ["gunicorn", "-b", "0.0.0.0:8080", "server:app"]
    """,
    # installed in a stage the final one is built from, pinned
    """\
    FROM python:3.12-slim AS base
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10
    FROM base
    HEALTHCHECK CMD curl -f http://localhost/ || exit 1
    """,
    # nc from a package with another name
    """\
    FROM debian:bookworm-slim
    RUN apt-get update && apt-get install -y netcat-openbsd
    HEALTHCHECK CMD nc -z localhost 8080
    """,
    # copied in
    """\
    FROM python:3.12-slim
    COPY --from=curlimages/curl:8.10.1 /usr/bin/curl /usr/local/bin/curl
    HEALTHCHECK CMD curl -f http://localhost/
    """,
    # a whole bin tree copied from another stage
    """\
    FROM debian:bookworm AS tools
    FROM python:3.12-slim
    COPY --from=tools /usr/bin /usr/local/tools/bin
    HEALTHCHECK CMD curl -f http://localhost/
    """,
    # unknown base image
    """\
    FROM nginx:1.27
    HEALTHCHECK CMD curl -f http://localhost/
    """,
    # a python probe
    """\
    FROM python:3.12-slim
    HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/')"
    """,
    # fallback to a program that exists
    """\
    FROM alpine:3.20
    HEALTHCHECK CMD curl -f http://localhost/ || wget -q -O /dev/null http://localhost/
    """,
    # guarded
    """\
    FROM python:3.12-slim
    HEALTHCHECK CMD command -v curl && curl -f http://localhost/ || exit 0
    """,
    # wget on alpine (busybox)
    """\
    FROM alpine:3.20
    HEALTHCHECK CMD wget -q -O /dev/null http://localhost:9000/health || exit 1
    """,
    """\
    FROM python:3.12-slim
    HEALTHCHECK NONE
    """,
])
def test_602_quiet(text):
    assert lint(text, "MLD602") == []


# ------------------------------------------------------------------------------------ MLD603

def test_603_seed01_reported_at_the_python_command():
    hits = lint("""\
        FROM tensorflow/tensorflow:2.12.0-gpu
        EXPOSE 6006
        HEALTHCHECK --interval=30s CMD python -c "import tensorflow as tf; print(tf.__version__)"
        CMD ["python", "train_tf.py"]
        """, "MLD603")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (3, 32, 90)
    assert "imports tensorflow" in d.message and d.severity == "warning"


def test_603_exec_form_and_non_final_stage():
    hits = lint("""\
        FROM python:3.11-slim AS base
        HEALTHCHECK CMD ["python", "-c", "import jax; jax.devices()"]
        FROM base
        CMD ["python", "/app/serve.py"]
        """, "MLD603")
    assert [(d.line, d.column) for d in hits] == [(2, 19)]
    assert "imports jax" in hits[0].message


@pytest.mark.parametrize("code,what", [
    ("import torch; assert torch.cuda.is_available()", "imports torch"),
    ("import os, torch", "imports torch"),
    ("import tensorflow.keras as k", "imports tensorflow"),
    ("from transformers import AutoModel", "imports transformers"),
    ("import mylib; mylib.Model.from_pretrained('x')", "calls from_pretrained("),
    ("import mylib; m = mylib.torch.load('m.pt')", "calls torch.load("),
    ("import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')", None),
    ("import requests; requests.get('http://localhost:8000/health')", None),
    ("import torchvision_stub_free_text", None),
    ("print('torch')", None),
])
def test_603_heavy_python(code, what):
    assert heavy_python(code) == what


@pytest.mark.parametrize("hc", [
    "HEALTHCHECK CMD curl -f http://localhost:8000/health || exit 1",
    "HEALTHCHECK CMD python /app/healthcheck.py",
    "HEALTHCHECK CMD python -c \"import http.client; http.client.HTTPConnection('127.0.0.1', 8000)\"",
    "HEALTHCHECK NONE",
])
def test_603_quiet(hc):
    assert lint(f"""\
        FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime
        RUN python -c "import torch; print(torch.__version__)"
        {hc}
        CMD ["python", "-c", "import torch"]
        """, "MLD603") == []


# --------------------------------------------------------------------- MLD601/MLD602 fixes
def fixed(text: str, rule: str) -> str:
    """The text after ``--fix --unsafe-fixes`` with ``rule`` alone."""
    from mldlint.fixer import fix_source

    r = fix_source(SourceFile.from_text(textwrap.dedent(text), "Dockerfile"), {rule}, None,
                   unsafe=True)
    assert r.guard_tripped is None
    return r.text


def _yaml_fixed():
    from mldlint.registry import load_all

    for rid in ("MLD601", "MLD602"):
        for n, ex in enumerate(load_all()[rid].examples):
            if "fixed" in ex:
                yield pytest.param(rid, ex["bad"], ex["fixed"], id=f"{rid}-{n}")


@pytest.mark.parametrize("rid,bad,after", list(_yaml_fixed()))
def test_60x_yaml_fixed_examples(rid, bad, after):
    assert fixed(bad, rid) == after
    assert lint(after, rid) == []


PY_PROBE = ("HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \\\n"
            "    CMD python3 -c \"import urllib.request; "
            "urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=4)\"\n")


def test_601_fix_prefers_curl_when_the_image_has_it():
    text = """\
        FROM python:3.11
        EXPOSE 9000
        CMD uvicorn app:app --host 0.0.0.0 --port 9000
        """
    d, = lint(text, "MLD601")
    assert d.fix.applicability == "unsafe" and "/health on port 9000" in d.fix.title
    assert fixed(text, "MLD601") == textwrap.dedent(text).replace("CMD", (
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \\\n"
        "    CMD curl -fsS -o /dev/null http://127.0.0.1:9000/health || exit 1\nCMD"), 1)


def test_601_fix_uses_known_health_paths_and_python_installed_by_apt():
    text = """\
        FROM nvcr.io/nvidia/tritonserver:24.08-py3
        EXPOSE 8000 8001 8002
        CMD ["tritonserver", "--model-repository=/models"]
        """
    assert fixed(text, "MLD601") == textwrap.dedent(text).replace(
        "CMD", PY_PROBE.format(port=8000, path="/v2/health/ready") + "CMD")
    text = """\
        FROM debian:12-slim
        RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip \\
            && rm -rf /var/lib/apt/lists/*
        CMD ["torchserve", "--start", "--foreground"]
        EXPOSE 8080
        """
    assert fixed(text, "MLD601") == textwrap.dedent(text).replace(
        "CMD", PY_PROBE.format(port=8080, path="/ping") + "CMD")


def test_601_fix_exec_form_without_a_shell_and_at_the_end_for_inherited_commands():
    text = """\
        FROM python:3.11-slim AS app
        RUN pip install --no-cache-dir uvicorn
        CMD ["uvicorn", "main:app", "--port", "8000"]

        FROM app
        COPY main.py .
        """
    assert fixed(text, "MLD601") == textwrap.dedent(text) + PY_PROBE.format(port=8000,
                                                                           path="/health")
    text = """\
        FROM gcr.io/distroless/python3-debian12
        COPY --from=build /venv /venv
        ENTRYPOINT ["/venv/bin/python", "-m", "uvicorn", "main:app", "--port", "8000"]
        """
    assert fixed(text, "MLD601") == textwrap.dedent(text).replace("ENTRYPOINT", (
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \\\n"
        "    CMD [\"python3\", \"-c\", \"import urllib.request; urllib.request.urlopen("
        "'http://127.0.0.1:8000/health', timeout=4)\"]\nENTRYPOINT"))


@pytest.mark.parametrize("text", [
    # no port known
    'FROM python:3.11-slim\nCMD ["uvicorn", "main:app"]\n',
    # no probe program known to exist
    'FROM debian:12-slim\nEXPOSE 8000\nCMD ["uvicorn", "main:app"]\n',
    'FROM company/base:1\nEXPOSE 8000\nCMD ["uvicorn", "main:app"]\n',
    # TF Serving: EXPOSE lists gRPC first, the REST port must be given
    'FROM tensorflow/tensorflow:2.15.0\nEXPOSE 8500 8501\n'
    'CMD ["tensorflow_model_server", "--model_name=m"]\n',
    # gRPC only
    'FROM python:3.11-slim\nEXPOSE 3000\nCMD ["bentoml", "serve-grpc", "svc:Svc"]\n',
])
def test_601_no_fix(text):
    d, = lint(text, "MLD601")
    assert d.fix is None


def test_601_tf_serving_rest_port_and_model_name():
    text = """\
        FROM tensorflow/tensorflow:2.15.0
        CMD ["tensorflow_model_server", "--rest_api_port=8501", "--model_name=resnet"]
        """
    assert "http://127.0.0.1:8501/v1/models/resnet'" in fixed(text, "MLD601")


def test_602_fix_exec_form_wget_in_sh_c_and_timeout():
    text = """\
        FROM python:3.12-slim
        HEALTHCHECK --timeout=10s CMD ["sh", "-c", "wget -qO- http://localhost:8080/ping || exit 1"]
        CMD ["uvicorn", "a:app"]
        """
    d, = lint(text, "MLD602")
    assert d.fix.applicability == "unsafe"
    assert d.fix.title == "Probe http://localhost:8080/ping with Python instead of wget"
    assert fixed(text, "MLD602") == textwrap.dedent(text).replace(
        '["sh", "-c", "wget -qO- http://localhost:8080/ping || exit 1"]',
        '["python3", "-c", "import urllib.request; '
        "urllib.request.urlopen('http://localhost:8080/ping', timeout=4)\"]")


def test_602_fix_keeps_a_shell_comment_and_discards_output_redirections():
    text = ("FROM python:3.12-slim\nHEALTHCHECK --timeout=2s CMD curl -sf "
            "http://localhost:8080/h > /dev/null 2>&1 || exit 1  # probe\nCMD [\"x\"]\n")
    assert fixed(text, "MLD602") == (
        "FROM python:3.12-slim\nHEALTHCHECK --timeout=2s CMD python3 -c \"import urllib.request; "
        "urllib.request.urlopen('http://localhost:8080/h', timeout=1)\"  # probe\nCMD [\"x\"]\n")


@pytest.mark.parametrize("hc", [
    "curl -H 'Authorization: x' -f http://localhost:8080/h || exit 1",  # a header
    "curl -f http://localhost:8080/h && echo ok",  # more than the probe
    "curl -f http://localhost:8080/h || exit 2",
    "nc -z localhost 8080",  # no URL
    "curl -fk https://localhost:8443/h || exit 1",  # -k: urllib would check the certificate
    "curl -f $HEALTH_URL || exit 1",
])
def test_602_no_fix_for_probes_python_cannot_stand_in_for(hc):
    d, = lint(f"FROM python:3.12-slim\nHEALTHCHECK CMD {hc}\nCMD [\"x\"]\n", "MLD602")
    assert d.fix is None


def test_602_no_fix_without_python():
    d, = lint("FROM debian:12-slim\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1\n"
              "CMD [\"x\"]\n", "MLD602")
    assert d.fix is None
