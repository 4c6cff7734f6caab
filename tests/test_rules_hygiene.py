"""What users see from the catalogue-parity rules in ``mldlint.rules.hygiene``: MLD403,
MLD406-MLD410, MLD503-MLD509, MLD604-MLD607."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.registry import load_all
from mldlint.source import SourceFile

RULES = ("MLD403", "MLD406", "MLD407", "MLD408", "MLD409", "MLD410", "MLD503", "MLD504",
         "MLD505", "MLD506", "MLD507", "MLD508", "MLD509", "MLD604", "MLD605", "MLD606",
         "MLD607")


def lint(text: str, rule: str, context: str | None = None):
    text = textwrap.dedent(text)
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, context)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply_fixes(text: str, diags) -> str:
    text = textwrap.dedent(text)
    edits = sorted((e for d in diags if d.fix for e in d.fix.edits), key=lambda e: -e.start)
    for e in edits:
        text = text[:e.start] + e.text + text[e.end:]
    return text


def _fixed_examples():
    metas = load_all()
    for rid in RULES:
        for n, ex in enumerate(metas[rid].examples):
            if "fixed" in ex:
                yield pytest.param(rid, ex["bad"], ex["fixed"], id=f"{rid}-{n}")


@pytest.mark.parametrize("rid,bad,fixed", list(_fixed_examples()))
def test_yaml_fixed_examples_equal_the_applied_fix(rid, bad, fixed):
    diags = lint(bad, rid)
    assert diags and all(d.fix is not None for d in diags)
    assert apply_fixes(bad, [d for d in diags if d.fix.applicability != "suggest"]) == fixed
    assert [d for d in lint(fixed, rid) if d.fix and d.fix.applicability != "suggest"] == []


# ----------------------------------------------------------------------------------- MLD403
def test_403_one_finding_per_row_at_the_second_run():
    d, = lint("""\
        FROM debian:12-slim
        RUN mkdir /app
        RUN touch /app/x
        RUN chmod 600 /app/x
        """, "MLD403")
    assert (d.line, d.column, d.end_column) == (3, 1, 4)
    assert "lines 2, 3, 4" in d.message and d.severity == "info"
    assert d.fix.applicability == "unsafe"
    assert apply_fixes("""\
        FROM debian:12-slim
        RUN mkdir /app
        RUN touch /app/x
        RUN chmod 600 /app/x
        """, [d]) == textwrap.dedent("""\
        FROM debian:12-slim
        RUN mkdir /app && \\
            touch /app/x && \\
            chmod 600 /app/x
        """)


@pytest.mark.parametrize("second", [
    "RUN --mount=type=cache,target=/root/.cache/pip pip install numpy",
    "RUN apt-get update && apt-get install -y curl",
    "RUN <<EOF\nmkdir /y\nEOF",
    'RUN ["mkdir", "/y"]',
    "ENV A=1\nRUN mkdir /y",
    "RUN mkdir /y | tee log",
])
def test_403_quiet(second):
    assert lint(f"FROM debian:12-slim\nRUN mkdir /x\n{second}\n", "MLD403") == []


def test_403_no_fix_after_cd():
    d, = lint("FROM debian:12-slim\nRUN cd /tmp\nRUN make\n", "MLD403")
    assert d.fix is None


# ----------------------------------------------------------------------------------- MLD406
def test_406_local_add_is_an_error_with_copy_fix():
    d, = lint("FROM python:3.11-slim\nADD app.py /app/\n", "MLD406")
    assert (d.line, d.column, d.end_column, d.severity) == (2, 1, 4, "error")
    assert "app.py" in d.message and d.fix.applicability == "safe"


def test_406_url_without_checksum_is_a_warning_with_suggestion():
    d, = lint("FROM debian:12\nADD https://example.com/tool /usr/local/bin/tool\n", "MLD406")
    assert (d.line, d.column, d.severity) == (2, 5, "warning")
    assert "https://example.com/tool" in d.message and d.fix.applicability == "suggest"


@pytest.mark.parametrize("add", [
    "ADD rootfs.tar.xz /",
    "ADD vendor.tgz /opt/",
    "ADD --checksum=sha256:abc https://example.com/x /x",
    "ADD https://github.com/moby/buildkit.git#v0.14.0 /src",
    "ADD ${ARTIFACT} /opt/",
    "COPY app.py /app/",
])
def test_406_quiet(add):
    assert lint(f"FROM debian:12\n{add}\n", "MLD406") == []


def test_406_url_verified_later_is_quiet():
    assert lint("""\
        FROM debian:12
        ADD https://example.com/tini /tini
        RUN echo "abc  /tini" | sha256sum -c -
        """, "MLD406") == []


# ----------------------------------------------------------------------------------- MLD407
def test_407_weight_file_named():
    d, = lint("FROM python:3.11-slim\nCOPY ckpt/model.safetensors /m/\n", "MLD407")
    assert (d.line, d.column) == (2, 6) and "model.safetensors" in d.message


@pytest.mark.parametrize("text", [
    "FROM node:20-slim\nCOPY models/ ./models/\n",           # no ML signal
    "FROM python:3.11-slim\nCOPY firmware.bin /fw/\n",
    "FROM python:3.11-slim\nCOPY --from=weights /weights /m\n",
])
def test_407_quiet(text):
    assert lint(text, "MLD407") == []


def test_407_models_folder_in_ml_image():
    d, = lint("""\
        FROM python:3.11-slim
        RUN pip install --no-cache-dir torch==2.3.1
        COPY models/ ./models/
        """, "MLD407")
    assert d.line == 3 and "models/" in d.message


def test_407_models_python_package_is_quiet(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    assert lint("""\
        FROM python:3.11-slim
        RUN pip install --no-cache-dir torch==2.3.1
        COPY models/ ./models/
        """, "MLD407", str(tmp_path)) == []


# ----------------------------------------------------------------------------------- MLD408
def test_408_seed_pattern():
    d, = lint("""\
        FROM python:3.10-slim
        WORKDIR /app
        COPY app.py .
        COPY models/ ./models/
        RUN useradd -m -u 1000 mluser && \\
            chown -R mluser:mluser /app
        USER mluser
        """, "MLD408")
    assert (d.line, d.column) == (6, 5)
    assert "/app/models" in d.message and "COPY --chown=mluser:mluser" in d.message
    assert d.fix is None  # the user is created after the COPYs


@pytest.mark.parametrize("run", [
    "RUN chmod +x /app/run.sh",
    "RUN chown app /app",
    "RUN chown -R app /data",
])
def test_408_quiet(run):
    assert lint(f"FROM debian:12\nCOPY run.sh /app/run.sh\n{run}\n", "MLD408") == []


def test_408_quiet_when_copy_already_owned():
    assert lint("FROM debian:12\nCOPY --chown=app:app . /app\nRUN chown -R app:app /app\n",
                "MLD408") == []


# ----------------------------------------------------------------------------------- MLD409
def test_409_needs_buildkit_syntax():
    text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir torch==2.3.1\n"
    assert lint(text, "MLD409") == []
    d, = lint("# syntax=docker/dockerfile:1\n" + text, "MLD409")
    assert (d.line, d.column) == (3, 32) and "torch" in d.message


# ----------------------------------------------------------------------------------- MLD410
def test_410_names_the_build_packages():
    d, = lint("""\
        FROM python:3.11-slim
        RUN apt-get update && apt-get install -y --no-install-recommends curl gcc libpq-dev \\
            && rm -rf /var/lib/apt/lists/*
        CMD ["python", "app.py"]
        """, "MLD410")
    assert (d.line, d.column) == (2, 71)
    assert "gcc, libpq-dev" in d.message and "curl" not in d.message


@pytest.mark.parametrize("text", [
    # builder stage only
    "FROM debian:12 AS b\nRUN apt-get install -y gcc\nFROM debian:12-slim\nCMD [\"/app\"]\n",
    # purged in the same RUN
    "FROM debian:12\nRUN apt-get install -y gcc && make && apt-get purge -y --auto-remove gcc\n"
    "CMD [\"/app\"]\n",
    # official-image idiom
    "FROM debian:12\nRUN apt-get install -y gcc && make && apt-mark auto '.*' "
    "&& apt-get purge -y --auto-remove\nCMD [\"/app\"]\n",
    # apk virtual group removed
    "FROM alpine:3.20\nRUN apk add --virtual .deps gcc musl-dev && make && apk del .deps\n"
    "CMD [\"/app\"]\n",
    # a development image
    "FROM ubuntu:22.04\nRUN apt-get install -y build-essential\nCMD [\"bash\"]\n",
    # a CUDA devel base
    "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y python3-dev\n"
    "CMD [\"python3\", \"train.py\"]\n",
])
def test_410_quiet(text):
    assert lint(text, "MLD410") == []


# ----------------------------------------------------------------------------------- MLD503
def test_503_env_file():
    d, = lint("FROM python:3.11-slim\nCOPY .env config.py ./\n", "MLD503")
    assert (d.line, d.column, d.end_column, d.severity) == (2, 6, 10, "error")
    assert ".env" in d.message


@pytest.mark.parametrize("copy", [
    "COPY .env.example .",
    "COPY certs/ca.pem /usr/local/share/ca-certificates/",
    "COPY id_rsa.pub /root/.ssh/authorized_keys",
    "COPY --from=builder /app/.env /app/",
    "COPY repo.key /etc/apt/keyrings/",
])
def test_503_quiet(copy):
    assert lint(f"FROM python:3.11-slim\n{copy}\n", "MLD503") == []


def test_503_builder_stage_not_shipped_is_quiet():
    assert lint("FROM node:20 AS b\nCOPY .npmrc .\nRUN npm ci\nFROM node:20-slim\n"
                "COPY --from=b /node_modules /node_modules\n", "MLD503") == []


def test_503_broad_copy_needs_an_unignored_secret(tmp_path):
    text = "FROM python:3.11-slim\nCOPY . /app\n"
    assert lint(text, "MLD503", str(tmp_path)) == []
    (tmp_path / ".netrc").write_text("machine x login a password b\n")
    d, = lint(text, "MLD503", str(tmp_path))
    assert (d.line, d.column) == (2, 6) and ".netrc" in d.message
    (tmp_path / ".dockerignore").write_text(".netrc\n")
    assert lint(text, "MLD503", str(tmp_path)) == []


def test_503_npmrc_without_token_in_context_is_quiet(tmp_path):
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    assert lint("FROM node:20-slim\nCOPY .npmrc .\n", "MLD503", str(tmp_path)) == []


# ----------------------------------------------------------------------------------- MLD504
def test_504_points_at_sudo():
    d, = lint("FROM ubuntu:22.04\nRUN apt-get update && sudo apt-get install -y curl\n",
              "MLD504")
    assert (d.line, d.column, d.end_column) == (2, 23, 27) and "sudo apt-get" in d.message


def test_504_quiet_on_installing_sudo():
    assert lint("FROM ubuntu:22.04\nRUN apt-get install -y sudo && echo 'a ALL=(ALL) "
                "NOPASSWD:ALL' > /etc/sudoers.d/a\n", "MLD504") == []


# ----------------------------------------------------------------------------------- MLD505
@pytest.mark.parametrize("run,col,what", [
    ("RUN curl -fsSLk https://x/y -o y", 10, "curl"),
    ("RUN wget --no-check-certificate https://x/y", 10, "wget"),
    ("RUN pip install --trusted-host pypi.org numpy", 17, "trusted-host"),
    ("RUN git config --global http.sslVerify false", 25, "sslVerify"),
    ("ENV PYTHONHTTPSVERIFY=0", 5, "PYTHONHTTPSVERIFY"),
    ("ENV GIT_SSL_NO_VERIFY=true", 5, "GIT_SSL_NO_VERIFY"),
])
def test_505_fires(run, col, what):
    d, = lint(f"FROM python:3.11-slim\n{run}\n", "MLD505")
    assert (d.line, d.column) == (2, col) and what in d.message


@pytest.mark.parametrize("run", [
    "RUN curl -fsSL -o kubectl https://x/kubectl",
    "ENV NODE_TLS_REJECT_UNAUTHORIZED=1",
    "ENV PYTHONHTTPSVERIFY=1",
    "RUN wget -q http://example.com/a",
])
def test_505_quiet(run):
    assert lint(f"FROM python:3.11-slim\n{run}\n", "MLD505") == []


# ----------------------------------------------------------------------------------- MLD506
def test_506_pipe_to_shell():
    d, = lint("FROM debian:12\nRUN curl -fsSL https://get.example.com | sudo bash -\n", "MLD506")
    assert (d.line, d.column) == (2, 5)
    assert "https://get.example.com" in d.message and "bash" in d.message


@pytest.mark.parametrize("run", [
    "RUN curl -fsSL https://x/a.tar.gz | tar -xz -C /opt",
    "RUN curl -fsSL https://x/api | python -c 'import json,sys; print(json.load(sys.stdin))'",
    "RUN curl -fsSLo /tmp/i.sh https://x/i.sh && sh /tmp/i.sh",
    "RUN wget https://x/i.sh | cat",
])
def test_506_quiet(run):
    assert lint(f"FROM debian:12\n{run}\n", "MLD506") == []


# ----------------------------------------------------------------------------------- MLD507
def test_507_chmod_777_app():
    d, = lint("FROM debian:12\nWORKDIR /app\nRUN chmod -R 777 /app\n", "MLD507")
    assert (d.line, d.column) == (3, 5) and "/app" in d.message


@pytest.mark.parametrize("run", [
    "RUN chmod 1777 /app",
    "RUN chmod -R 777 /tmp/cache",
    "RUN chmod 755 /app",
    "RUN chmod +w /app",
    "RUN mkdir -p /data/db && chmod 777 /data",
    "RUN chmod 777 /app/logs",
])
def test_507_quiet(run):
    assert lint(f"FROM debian:12\n{run}\n", "MLD507") == []


# ----------------------------------------------------------------------------------- MLD508
def test_508_expose_22():
    d, = lint("FROM python:3.11-slim\nEXPOSE 8888 22/tcp\n", "MLD508")
    assert (d.line, d.column, d.end_column) == (2, 13, 19)


def test_508_quiet_for_client_and_builder():
    assert lint("FROM debian:12 AS b\nRUN apt-get install -y openssh-server\nFROM debian:12\n"
                "RUN apt-get install -y openssh-client\n", "MLD508") == []


# ----------------------------------------------------------------------------------- MLD509
def test_509_high_uid_and_fix():
    src = "FROM debian:12\nRUN useradd -u 1000001 app\n"
    d, = lint(src, "MLD509")
    assert (d.line, d.column) == (2, 16) and "1000001" in d.message
    assert apply_fixes(src, [d]) == "FROM debian:12\nRUN useradd -l -u 1000001 app\n"


@pytest.mark.parametrize("run", [
    "RUN useradd -u 10001 app",
    "RUN useradd -lu 1000001 app",
    "RUN useradd --no-log-init --uid=1000001 app",
    "RUN useradd -u $UID app",
])
def test_509_quiet(run):
    assert lint(f"FROM debian:12\n{run}\n", "MLD509") == []


# ----------------------------------------------------------------------------------- MLD604
def test_604_timeout_and_interval():
    d, = lint("FROM python:3.11-slim\nHEALTHCHECK --interval=2s CMD true\n", "MLD604")
    assert (d.line, d.column) == (2, 1)
    assert "--interval=2s" in d.message and "--timeout" in d.message and d.fix is None


def test_604_quiet_on_good_serving_image_pattern():
    assert lint("""\
        FROM python:3.11-slim
        HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 CMD true
        CMD ["uvicorn", "app.main:app", "--port", "8000"]
        """, "MLD604") == []


def test_604_start_period_only_for_model_servers():
    assert lint("FROM python:3.11-slim\nHEALTHCHECK --timeout=3s CMD true\n"
                'CMD ["uvicorn", "app:app"]\n', "MLD604") == []
    d, = lint("FROM python:3.11-slim\nHEALTHCHECK --timeout=3s CMD true\n"
              'CMD ["vllm", "serve", "m"]\n', "MLD604")
    assert "vllm serve" in d.message and d.fix.applicability == "safe"


# ----------------------------------------------------------------------------------- MLD605
def test_605_fires_on_python_cmd_with_fix():
    src = "FROM python:3.11-slim\n# run it\nCMD [\"python\", \"app.py\"]\n"
    d, = lint(src, "MLD605")
    assert (d.line, d.column) == (3, 7)
    assert apply_fixes(src, [d]) == ("FROM python:3.11-slim\nENV PYTHONUNBUFFERED=1\n# run it\n"
                                     "CMD [\"python\", \"app.py\"]\n")


@pytest.mark.parametrize("text", [
    'FROM python:3.11-slim\nENV PYTHONUNBUFFERED=1\nCMD ["python", "app.py"]\n',
    'FROM python:3.11-slim\nCMD ["python", "-u", "app.py"]\n',
    'FROM python:3.11-slim\nCMD ["uvicorn", "app:app"]\n',
    'FROM python:3.11-slim\nCMD ["python", "-c", "print(1)"]\n',
    'FROM python:3.11-slim AS base\nENV PYTHONUNBUFFERED=1\nFROM base\nCMD ["python", "a.py"]\n',
])
def test_605_quiet(text):
    assert lint(text, "MLD605") == []


# ----------------------------------------------------------------------------------- MLD606
def test_606_workers_with_model():
    d, = lint("""\
        FROM python:3.11-slim
        COPY model.pt /app/model.pt
        CMD ["gunicorn", "-w", "4", "app:app"]
        """, "MLD606")
    assert (d.line, d.column) == (3, 25) and "4 worker" in d.message


@pytest.mark.parametrize("cmd", [
    '["gunicorn", "--preload", "-w", "4", "app:app"]',
    '["uvicorn", "app:app", "--workers", "1"]',
    '["uvicorn", "app:app", "--workers", "$N"]',
])
def test_606_quiet(cmd):
    assert lint(f"FROM python:3.11-slim\nCOPY model.pt /m.pt\nCMD {cmd}\n", "MLD606") == []


def test_606_quiet_without_model():
    assert lint('FROM python:3.11-slim\nCMD ["uvicorn", "app:app", "--workers", "4"]\n',
                "MLD606") == []


# ----------------------------------------------------------------------------------- MLD607
def test_607_seed_pattern():
    d, = lint("""\
        FROM python:3.10-slim
        WORKDIR /app
        COPY download_model.py app.py ./
        CMD ["sh", "-c", "python download_model.py && python app.py"]
        """, "MLD607")
    assert d.line == 4 and "download_model.py" in d.message


def test_607_quiet_with_volume():
    assert lint("""\
        FROM python:3.10-slim
        VOLUME /root/.cache/huggingface
        CMD python download_model.py && python app.py
        """, "MLD607") == []
