"""MLD501 runs-as-root and MLD502 secret-in-arg-or-env: what a user sees."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.rules.security import name_words, secret_name
from mldlint.source import SourceFile


def lint(text: str, rule: str):
    src = SourceFile.from_text(textwrap.dedent(text), "Dockerfile")
    found = lint_source(src, {rule, "MLD004"}, None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


# ------------------------------------------------------------------------------------ MLD501

def test_501_no_user_reported_at_final_from():
    hits = lint("""\
        FROM python:3.10 AS build
        RUN pip wheel -w /w numpy
        FROM python:3.10-slim
        COPY app.py .
        CMD ["python", "app.py"]
        """, "MLD501")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_line, d.end_column) == (3, 1, 3, 22)
    assert "python:3.10-slim" in d.message and "USER" in d.message
    assert d.severity == "warning"


def test_501_last_user_root_reported_at_user():
    hits = lint("""\
        FROM pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime
        RUN useradd -m -u 1000 mluser
        USER mluser
        RUN echo hi
        USER root
        CMD ["python", "train.py"]
        """, "MLD501")
    assert [(d.line, d.column, d.end_column) for d in hits] == [(5, 1, 10)]
    assert "'root'" in hits[0].message


@pytest.mark.parametrize("user", ["0", "root:root", "0:0", "root"])
def test_501_root_spellings(user):
    hits = lint(f"""\
        FROM python:3.11-slim
        USER {user}
        CMD ["python", "app.py"]
        """, "MLD501")
    assert len(hits) == 1 and hits[0].line == 2


def test_501_user_from_arg_resolved():
    assert len(lint("""\
        FROM python:3.11-slim
        ARG RUN_AS=root
        USER ${RUN_AS}
        CMD ["python", "app.py"]
        """, "MLD501")) == 1
    # unresolvable: quiet
    assert lint("""\
        FROM python:3.11-slim
        ARG RUN_AS
        USER ${RUN_AS}
        CMD ["python", "app.py"]
        """, "MLD501") == []


@pytest.mark.parametrize("text", [
    # last USER is non-root, after a USER root for installs
    """\
    FROM python:3.11-slim
    USER root
    RUN apt-get update
    USER 10001
    CMD ["python", "app.py"]
    """,
    # user inherited from an earlier stage
    """\
    FROM python:3.11-slim AS base
    RUN useradd -u 10001 app
    USER app
    FROM base
    CMD ["python", "app.py"]
    """,
    # base image known to run as non-root
    """\
    FROM gcr.io/distroless/python3-debian12:nonroot
    COPY app.py /app.py
    CMD ["/app.py"]
    """,
    """\
    FROM jupyter/scipy-notebook:2024-05-27
    CMD ["python", "job.py"]
    """,
    # scratch / distroless single binary
    """\
    FROM golang:1.22 AS build
    RUN go build -o /server .
    FROM scratch
    COPY --from=build /server /server
    ENTRYPOINT ["/server"]
    """,
    """\
    FROM gcr.io/distroless/static-debian12
    COPY server /server
    ENTRYPOINT ["/server"]
    """,
    # third-party base the knowledge base does not describe
    """\
    FROM jboss/wildfly
    CMD ["/opt/jboss/wildfly/bin/standalone.sh"]
    """,
    # unresolvable base
    """\
    ARG BASE
    FROM ${BASE}
    CMD ["python", "app.py"]
    """,
    # no command of its own, or a bare REPL: a base image
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir numpy
    """,
    """\
    FROM python:3.11-slim
    CMD ["python3"]
    """,
    """\
    FROM php:8.3-fpm
    ENTRYPOINT ["docker-php-entrypoint"]
    CMD ["php", "-a"]
    """,
    # privilege drop at start-up
    """\
    FROM debian:bookworm-slim
    RUN apt-get update && apt-get install -y --no-install-recommends gosu
    COPY entrypoint.sh /entrypoint.sh
    ENTRYPOINT ["/entrypoint.sh"]
    CMD ["postgres"]
    """,
    """\
    FROM debian:bookworm-slim
    CMD ["nginx", "-g", "daemon off;"]
    """,
    # Windows
    """\
    FROM mcr.microsoft.com/windows/servercore:ltsc2022
    CMD ["cmd", "/C", "app.exe"]
    """,
    # a fragment without FROM
    """\
    RUN useradd -m -u 1000 mluser
    CMD ["python", "app.py"]
    """,
])
def test_501_quiet(text):
    assert lint(text, "MLD501") == []


def test_501_handed_cases_patterns():
    # pip-user-root-local / hf-cache-nonroot: USER 1000 / 1001 at the end
    assert lint("""\
        FROM python:3.11-slim
        RUN useradd --uid 1001 --create-home svc
        USER 1001
        COPY serve.py /home/svc/serve.py
        CMD ["python", "/home/svc/serve.py"]
        """, "MLD501") == []
    # seed05: sh -c command on a slim base without USER
    hits = lint("""\
        FROM python:3.10-slim
        WORKDIR /app
        CMD ["sh", "-c", "python download_model.py && python app.py"]
        """, "MLD501")
    assert [(d.line, d.column) for d in hits] == [(1, 1)]


# ------------------------------------------------------------------------------------ MLD502

def test_502_arg_and_env_reported_at_the_name():
    hits = lint("""\
        FROM python:3.11-slim
        ARG API_KEY
        ENV API_KEY=${API_KEY}
        CMD ["python", "app.py"]
        """, "MLD502")
    assert [(d.line, d.column, d.end_column) for d in hits] == [(2, 5, 12), (3, 5, 12)]
    assert "ARG API_KEY" in hits[0].message and "image history" in hits[0].message
    assert "ENV API_KEY" in hits[1].message and "image config" in hits[1].message
    assert "--mount=type=secret,id=api_key,env=API_KEY" in hits[0].message
    assert all(d.severity == "error" for d in hits)


def test_502_fragment_seed08():
    hits = lint("""\
        # Create non-root user
        RUN useradd -m -u 1000 mluser
        USER mluser
        ARG API_KEY
        ENV API_KEY=${API_KEY}
        """, "MLD502")
    assert [d.line for d in hits] == [4, 5]


def test_502_secret_token_arg():
    hits = lint("""\
        FROM python:3.11-slim
        ARG HF_TOKEN
        RUN pip install --no-cache-dir huggingface_hub==0.24.6 \\
            && huggingface-cli login --token "$HF_TOKEN"
        CMD ["python", "app.py"]
        """, "MLD502")
    assert [(d.line, d.column, d.end_column) for d in hits] == [(2, 5, 13)]
    assert "HF_TOKEN" in hits[0].message


def test_502_legacy_env_form_and_multi_pairs():
    hits = lint("""\
        FROM python:3.11-slim
        ENV WANDB_API_KEY 0123456789abcdef
        ENV A=1 AWS_SECRET_ACCESS_KEY=abcdefgh B=2
        """, "MLD502")
    assert [(d.line, d.column) for d in hits] == [(2, 5), (3, 9)]


def test_502_credential_like_value_any_name():
    hits = lint("""\
        FROM python:3.11-slim
        ENV MODEL_REPO_LOGIN=hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345
        ARG OPENAI=sk-proj0123456789abcdefABCDEF
        """, "MLD502")
    assert [(d.line, d.column) for d in hits] == [(2, 5), (3, 5)]
    assert "'hf_'" in hits[0].message and "'sk-'" in hits[1].message


def test_502_empty_arg_default_still_reported():
    assert [d.line for d in lint("FROM python:3.11-slim\nARG HF_TOKEN=\n", "MLD502")] == [2]


@pytest.mark.parametrize("line", [
    "ENV TOKENIZERS_PARALLELISM=false",
    "ARG MAX_INPUT_TOKENS=4096",
    "ENV MAX_TOKEN_LENGTH=512",
    "ENV HF_TOKEN_PATH=/run/secrets/hf_token",
    "ENV SECRET_FILE=/run/secrets/x",
    "ENV API_KEY_URL=https://example.com/key",
    "ENV HF_HUB_ENABLE_HF_TRANSFER=1",
    "ENV HF_HUB_DISABLE_IMPLICIT_TOKEN=1",
    "ENV GOOGLE_APPLICATION_CREDENTIALS=/secrets/gcp.json",
    "ENV GOOGLE_APPLICATION_CREDENTIALS=/usr/src/app/$CRED_NAME",
    "ARG GOOGLE_CREDENTIALS=credentials.json",
    "ARG AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "ENV OAUTH2_TOKEN_ENDPOINT=https://x/token",
    "ENV HF_TOKEN=none",
    "ENV HF_TOKEN=\"\"",
    "ENV GITHUB_TOKEN <token>",
    "ENV DB_PASSWORD **ChangeMe**",
    "ENV GOOGLE_MAP_API_KEY='YOUR_GOOGLE_MAP_API_KEY'",
    "ENV BACKEND=hf_transfer",
    "ENV MODEL=sk-learn",
    "ENV MODEL_ID=org/hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "ENV myTokenizerPath=/models/tok",
    "ENV PUBLIC_KEY=abc",
])
def test_502_quiet(line):
    assert lint(f"FROM python:3.11-slim\n{line}\n", "MLD502") == []


def test_502_secret_mount_is_fine():
    assert lint("""\
        # syntax=docker/dockerfile:1
        FROM python:3.11-slim
        RUN --mount=type=secret,id=hf_token,env=HF_TOKEN huggingface-cli download org/m
        """, "MLD502") == []


@pytest.mark.parametrize("name,words", [
    ("HF_TOKEN", ["HF", "TOKEN"]),
    ("hfToken", ["HF", "TOKEN"]),
    ("HFToken", ["HF", "TOKEN"]),
    ("hf-api-key", ["HF", "API", "KEY"]),
    ("am_ark_ServerAdminPassword", ["AM", "ARK", "SERVER", "ADMIN", "PASSWORD"]),
    ("TOKENIZERS_PARALLELISM", ["TOKENIZERS", "PARALLELISM"]),
])
def test_502_name_words(name, words):
    assert name_words(name) == words


@pytest.mark.parametrize("name,secret", [
    ("HF_TOKEN", True), ("HUGGING_FACE_HUB_TOKEN", True), ("WANDB_API_KEY", True),
    ("OPENAI_API_KEY", True), ("AWS_SECRET_ACCESS_KEY", True), ("SSH_PRIVATE_KEY", True),
    ("apiKey", True), ("dbPassword", True), ("GITHUB_CREDENTIALS", True), ("APIKEY", True),
    ("TOKENIZERS_PARALLELISM", False), ("MAX_INPUT_TOKENS", False), ("KEY", False),
    ("API_HOST", False), ("HF_TOKEN_PATH", False), ("SECRET_FILE", False),
])
def test_502_secret_name(name, secret):
    assert secret_name(name) is secret


def test_mld502_url_with_literal_password_is_a_secret_whatever_the_name():
    text = ("FROM python:3.11-slim\n"
            "ARG PIP_INDEX_URL=https://deploy:s3cr3t@pypi.example.com/simple\n"
            "ARG MIRROR=https://deploy:${TOKEN}@pypi.example.com/simple\n"
            "ENV HOME_URL=https://user@example.com/\n")
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {"MLD502"}, None)
    assert [(d.line, d.column) for d in found] == [(2, 5)]
    assert "URL with a password" in found[0].message


# ------------------------------------------------------------------------ MLD501 fixes
def fix501(text: str) -> str:
    """The text after ``--fix --unsafe-fixes`` with MLD501 alone."""
    from mldlint.fixer import fix_source

    r = fix_source(SourceFile.from_text(textwrap.dedent(text), "Dockerfile"), {"MLD501"},
                   None, unsafe=True)
    assert r.guard_tripped is None
    return r.text


def _yaml_fixed(rid):
    from mldlint.registry import load_all

    for n, ex in enumerate(load_all()[rid].examples):
        if "fixed" in ex:
            yield pytest.param(ex["bad"], ex["fixed"], id=f"{rid}-{n}")


@pytest.mark.parametrize("bad,fixed", list(_yaml_fixed("MLD501")))
def test_501_yaml_fixed_examples(bad, fixed):
    assert fix501(bad) == fixed
    assert lint(fixed, "MLD501") == []


def test_501_fix_is_unsafe_and_goes_after_the_last_root_step():
    text = """\
        FROM python:3.11-slim
        COPY app.py /app/
        # the server
        CMD ["python", "/app/app.py"]
        EXPOSE 8000
        RUN pip install --no-cache-dir uvicorn
        """
    d, = lint(text, "MLD501")
    assert d.fix.applicability == "unsafe"
    # the RUN after CMD still runs as root; the user switch goes after it, at the stage's end
    assert fix501(text) == textwrap.dedent(text) + (
        "RUN useradd --create-home --uid 10001 --user-group app\nUSER 10001\n")
    # before the comment lines of the CMD
    text2 = "FROM python:3.11-slim\nCOPY app.py /app/\n# the server\nCMD [\"python\", \"x\"]\n"
    assert fix501(text2) == ("FROM python:3.11-slim\nCOPY app.py /app/\n"
                             "RUN useradd --create-home --uid 10001 --user-group app\n"
                             "USER 10001\n# the server\nCMD [\"python\", \"x\"]\n")


def test_501_fix_without_a_final_newline_and_with_crlf():
    assert fix501("FROM python:3.11-slim\nRUN true\nCMD [\"python\", \"x\"]") == (
        "FROM python:3.11-slim\nRUN true\n"
        "RUN useradd --create-home --uid 10001 --user-group app\nUSER 10001\n"
        "CMD [\"python\", \"x\"]")
    assert fix501("FROM ubuntu:22.04\r\nRUN true\r\nENTRYPOINT [\"/srv\"]\r\n") == (
        "FROM ubuntu:22.04\r\nRUN true\r\n"
        "RUN useradd --create-home --uid 10001 --user-group app\r\nUSER 10001\r\n"
        "ENTRYPOINT [\"/srv\"]\r\n")


def test_501_fix_user_root_before_more_root_steps_is_kept():
    text = """\
        FROM python:3.11-slim
        RUN useradd -m svc
        USER svc
        RUN echo hi
        USER root
        RUN apt-get update
        CMD ["python", "app.py"]
        """
    assert fix501(text) == textwrap.dedent(text).replace(
        'CMD [', 'USER svc\nCMD [')


def test_501_fix_restores_the_base_images_own_user():
    text = """\
        FROM jupyter/base-notebook:2023-10-20
        USER root
        CMD ["start-notebook.sh"]
        """
    # the base runs as jovyan: dropping the USER root is enough
    assert fix501(text) == textwrap.dedent(text).replace("USER root\n", "")
    text = """\
        FROM jupyter/base-notebook:2023-10-20
        USER root
        RUN apt-get update
        CMD ["start-notebook.sh"]
        """
    assert fix501(text) == textwrap.dedent(text).replace("CMD", "USER jovyan\nCMD")


@pytest.mark.parametrize("text", [
    # bases whose user tool is unknown (not in the knowledge base)
    'FROM openjdk:17\nCOPY app.jar /\nCMD ["java", "-jar", "/app.jar"]\n',
    'FROM golang:1.22\nCMD ["go", "run", "."]\n',
    # no shell
    'FROM gcr.io/distroless/python3-debian12\nUSER root\nCMD ["app.py"]\n',
    # ONBUILD triggers run in child builds as the final USER
    'FROM node:20\nWORKDIR /usr/src/app\nONBUILD COPY . .\nONBUILD RUN npm install\n'
    'CMD ["npm", "start"]\n',
])
def test_501_no_fix_where_the_user_tool_is_unknown(text):
    for d in lint(text, "MLD501"):
        assert d.fix is None


def test_501_created_user_by_name_and_adduser_group_form():
    text = 'FROM python:3.11-slim\nRUN adduser --disabled-password --gecos "" svc\nCMD ["x"]\n'
    assert fix501(text) == text.replace("CMD", "USER svc\nCMD")
    # `adduser user group` adds a user to a group: not a user creation the fix trusts
    text = 'FROM python:3.11-slim\nRUN adduser svc staff\nCMD ["x"]\n'
    assert "useradd --create-home --uid 10001" in fix501(text)


def test_501_no_fix_when_the_switch_breaks_build_time_model_caches():
    text = """\
        FROM python:3.11-slim
        RUN pip install --no-cache-dir transformers torch
        RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"
        COPY app.py .
        CMD ["python", "app.py"]
        """
    d, = lint(text, "MLD501")
    assert d.fix is None
    # with the cache outside /root (readable by everyone) the fix is offered
    text = text.replace("RUN pip", "ENV HF_HOME=/opt/hf\nRUN pip").replace(
        "COPY app.py .", "COPY app.py .\nRUN chmod -R a+rX /opt/hf")
    d, = lint(text, "MLD501")
    assert d.fix is not None
