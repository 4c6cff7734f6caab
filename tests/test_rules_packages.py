"""What users see from the package rules: MLD303, MLD304, MLD307, MLD310, MLD311."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str):
    text = textwrap.dedent(text)
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, None)
    assert [d for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply_fixes(text: str, diags) -> str:
    text = textwrap.dedent(text)
    edits = sorted((e for d in diags if d.fix for e in d.fix.edits), key=lambda e: -e.start)
    for e in edits:
        text = text[:e.start] + e.text + text[e.end:]
    return text


# ----------------------------------------------------------------------------------- MLD303
def test_303_fires_at_apt_get_install_and_names_packages():
    d, = lint("""\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y curl git && rm -rf /var/lib/apt/lists/*
        """, "MLD303")
    assert (d.line, d.column, d.end_column) == (2, 23, 38)
    assert "curl, git" in d.message and "--no-install-recommends" in d.message


def test_303_fix_inserts_flag_after_install():
    src = """\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
        """
    assert apply_fixes(src, lint(src, "MLD303")) == textwrap.dedent("""\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install --no-install-recommends -y curl && rm -rf /var/lib/apt/lists/*
        """)


@pytest.mark.parametrize("body", [
    "apt-get install -y --no-install-recommends curl",
    "apt-get -o APT::Install-Recommends=false install -y curl",
    "apt-get update",
    "apt-get purge -y curl",
    "apk add curl",
    "apt-get install -f -y",
])
def test_303_quiet(body):
    assert lint(f"FROM ubuntu:22.04\nRUN {body}\n", "MLD303") == []


def test_303_quiet_when_apt_configured_without_recommends():
    assert lint("""\
        FROM ubuntu:22.04
        RUN echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/99norecommends
        RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
        """, "MLD303") == []


def test_303_quiet_in_builder_stage_not_shipped():
    assert lint("""\
        FROM debian:12 AS build
        RUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*
        RUN gcc -o /app main.c
        FROM debian:12-slim
        COPY --from=build /app /app
        """, "MLD303") == []


# ----------------------------------------------------------------------------------- MLD304
def test_304_fires_at_apt_get_update():
    d, = lint("""\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y --no-install-recommends curl
        """, "MLD304")
    assert (d.line, d.column, d.end_column) == (2, 5, 19)
    assert "/var/lib/apt/lists" in d.message


def test_304_fix_appends_removal_after_last_apt_get():
    src = """\
        FROM ubuntu:22.04
        RUN apt-get update \\
            && apt-get install -y --no-install-recommends curl \\
            && echo done
        """
    assert apply_fixes(src, lint(src, "MLD304")) == textwrap.dedent("""\
        FROM ubuntu:22.04
        RUN apt-get update \\
            && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \\
            && echo done
        """)


def test_304_removal_before_last_apt_get_does_not_count():
    assert len(lint("""\
        FROM ubuntu:22.04
        RUN apt-get update && rm -rf /var/lib/apt/lists/* && apt-get install -y curl
        """, "MLD304")) == 1


def test_304_heredoc_body_is_the_script():
    assert len(lint("""\
        # syntax=docker/dockerfile:1
        FROM ubuntu:22.04
        RUN <<EOF
        apt-get update
        apt-get install -y --no-install-recommends curl
        EOF
        """, "MLD304")) == 1
    assert lint("""\
        # syntax=docker/dockerfile:1
        FROM ubuntu:22.04
        RUN <<EOF
        apt-get update
        apt-get install -y --no-install-recommends curl
        rm -rf /var/lib/apt/lists/*
        EOF
        """, "MLD304") == []


@pytest.mark.parametrize("text", [
    "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
    "RUN apt-get update && apt-get install -y curl && apt-get clean && rm -rf /var/lib/apt/lists",
    "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/* "
    "&& apt-get purge -y --auto-remove gcc",
    "RUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update "
    "&& apt-get install -y curl",
    "RUN --mount=type=tmpfs,target=/var/lib/apt/lists apt-get update && apt-get install -y curl",
    "RUN apt-get install -y curl",
    "RUN sh -c 'apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*'",
])
def test_304_quiet(text):
    assert lint(f"FROM ubuntu:22.04\n{text}\n", "MLD304") == []


# ----------------------------------------------------------------------------------- MLD307
def test_307_fires_at_prompting_package():
    d, = lint("""\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y tzdata python3 python3-pip
        """, "MLD307")
    assert (d.line, d.column, d.end_column) == (2, 42, 48)
    assert "tzdata" in d.message and "DEBIAN_FRONTEND=noninteractive" in d.message


def test_307_fix_prefixes_the_install_command():
    src = """\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y keyboard-configuration
        """
    assert apply_fixes(src, lint(src, "MLD307")) == textwrap.dedent("""\
        FROM ubuntu:22.04
        RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y keyboard-configuration
        """)


def test_307_pulled_in_and_texlive():
    assert len(lint("FROM ubuntu:22.04\nRUN apt-get install -y texlive-latex-extra\n",
                    "MLD307")) == 1
    assert len(lint("FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\n"
                    "RUN apt-get install -y python3-opencv\n", "MLD307")) == 1


@pytest.mark.parametrize("text", [
    "ENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y tzdata",
    "ARG DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y tzdata",
    "RUN DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata",
    "RUN env DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata",
    "RUN export DEBIAN_FRONTEND=noninteractive && apt-get install -y tzdata",
    "RUN ln -snf /usr/share/zoneinfo/UTC /etc/localtime && echo UTC > /etc/timezone "
    "&& apt-get install -y tzdata",
    "RUN apt-get install -y curl python3",
])
def test_307_quiet(text):
    assert lint(f"FROM ubuntu:22.04\n{text}\n", "MLD307") == []


@pytest.mark.parametrize("base", ["ubuntu:16.04", "debian:12", "python:3.11-slim"])
def test_307_quiet_where_tzdata_is_preinstalled(base):
    assert lint(f"FROM {base}\nRUN apt-get install -y tzdata\n", "MLD307") == []


def test_307_keyboard_prompts_on_any_base():
    assert len(lint("FROM debian:12\nRUN apt-get install -y console-setup\n", "MLD307")) == 1


# ----------------------------------------------------------------------------------- MLD310
def test_310_fires_at_pip_install():
    d, = lint("""\
        FROM python:3.10-slim
        RUN pip install transformers==4.35.0 torch==2.0.0
        """, "MLD310")
    assert (d.line, d.column, d.end_column) == (2, 5, 16)
    assert "transformers" in d.message and "/root/.cache/pip" in d.message
    assert "2 GB" in d.message


def test_310_fix_inserts_no_cache_dir():
    src = "FROM python:3.10-slim\nRUN python -m pip install -r requirements.txt\n"
    assert apply_fixes(src, lint(src, "MLD310")) == \
        "FROM python:3.10-slim\nRUN python -m pip install --no-cache-dir -r requirements.txt\n"


@pytest.mark.parametrize("text", [
    "RUN pip install --no-cache-dir torch==2.0.0",
    "ENV PIP_NO_CACHE_DIR=1\nRUN pip install torch==2.0.0",
    "ENV PIP_NO_CACHE_DIR=off\nRUN pip install torch==2.0.0",  # pip: any valid value disables
    "ARG PIP_NO_CACHE_DIR=true\nRUN pip install torch==2.0.0",
    "RUN PIP_NO_CACHE_DIR=1 pip install torch==2.0.0",
    "RUN --mount=type=cache,target=/root/.cache/pip pip install torch==2.0.0",
    "RUN --mount=type=cache,target=/root/.cache pip install torch==2.0.0",
    "ENV PIP_CACHE_DIR=/pipcache\nRUN --mount=type=cache,target=/pipcache pip install torch==2.0.0",
    "USER app\nRUN --mount=type=cache,target=/home/app/.cache/pip pip install torch==2.0.0",
    "RUN pip install torch==2.0.0 && rm -rf /root/.cache/pip",
    "RUN pip install torch==2.0.0 && pip cache purge",
    "RUN pip install --upgrade pip",
    "RUN pip install -U pip setuptools wheel",
    "RUN uv pip install torch==2.0.0",
    "RUN pip download torch==2.0.0",
])
def test_310_quiet(text):
    assert lint(f"FROM python:3.11-slim\n{text}\n", "MLD310") == []


def test_310_builder_stage_quiet_unless_its_cache_is_copied():
    builder = """\
        FROM python:3.10 AS build
        RUN pip install --prefix=/install torch==2.0.0
        FROM python:3.10-slim
        COPY --from=build {src} {dst}
        """
    assert lint(builder.format(src="/install", dst="/usr/local"), "MLD310") == []
    assert len(lint(builder.format(src="/root/.cache", dst="/root/.cache"), "MLD310")) == 1


# ----------------------------------------------------------------------------------- MLD311
def test_311_names_unpinned_packages_at_the_first():
    d, = lint("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir \\
            fastapi==0.104.1 \\
            uvicorn \\
            "pandas>=2"
        """, "MLD311")
    assert (d.line, d.column, d.end_column) == (4, 5, 12)
    assert "uvicorn, pandas>=2" in d.message


@pytest.mark.parametrize("text", [
    "RUN pip install --no-cache-dir -r requirements.txt",
    "RUN pip install --no-cache-dir -c constraints.txt torch transformers",
    "ENV PIP_CONSTRAINT=/c.txt\nRUN pip install --no-cache-dir torch",
    "RUN pip install --no-cache-dir .",
    "RUN pip install --no-cache-dir -e .",
    "RUN pip install --no-cache-dir --upgrade pip",
    "RUN pip install --no-cache-dir -U pip setuptools wheel",
    "RUN pip install --no-cache-dir torch==2.1.0 numpy~=1.26.0 x===1.0",
    "RUN pip install --no-cache-dir https://example.com/pkgs/foo-1.2.3-py3-none-any.whl",
    "RUN pip install --no-cache-dir 'foo @ git+https://github.com/a/foo.git@v1.2'",
    "RUN pip install --no-cache-dir torch==$TORCH_VERSION",
])
def test_311_quiet(text):
    assert lint(f"FROM python:3.11-slim\n{text}\n", "MLD311") == []


def test_mld311_requirement_satisfied_by_the_base_images_torch_is_not_floating():
    base = "FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime\n"
    quiet = lint_source(SourceFile.from_text(base + 'RUN pip install --no-cache-dir "torch>=2.0"\n',
                                             "Dockerfile"), {"MLD311"}, None)
    assert quiet == []
    upgraded = lint_source(SourceFile.from_text(
        base + 'RUN pip install --no-cache-dir -U "torch>=2.0"\n', "Dockerfile"), {"MLD311"}, None)
    assert [d.rule for d in upgraded] == ["MLD311"]
