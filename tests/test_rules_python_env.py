"""Tests for the Python-environment rules: MLD312 (pip --user hidden in /root), MLD313 (manifest
not copied), MLD320 (conda clean), MLD321 (conda activate in its own RUN), MLD325 (uv cache)."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.registry import load_all
from mldlint.source import SourceFile

RULES = ("MLD312", "MLD313", "MLD320", "MLD321", "MLD325")


def lint(text: str, rule: str, context: str | None = None):
    src = SourceFile.from_text(textwrap.dedent(text).lstrip("\n"), "Dockerfile")
    found = lint_source(src, {rule, "MLD004"}, context)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply_fix(text: str, diag) -> str:
    """Apply a diagnostic's edits bottom-up on ``text`` (offsets are code points)."""
    out = text
    for e in sorted(diag.fix.edits, key=lambda e: e.start, reverse=True):
        out = out[:e.start] + e.text + out[e.end:]
    return out


def _fixed_examples():
    metas = load_all()
    for rid in RULES:
        for n, ex in enumerate(metas[rid].examples or []):
            if ex.get("fixed") is not None:
                yield pytest.param(rid, ex["bad"], ex["fixed"], id=f"{rid}-{n}")


@pytest.mark.parametrize("rule_id,bad,fixed", list(_fixed_examples()))
def test_yaml_fixed_examples_equal_the_applied_fix(rule_id, bad, fixed):
    src = SourceFile.from_text(bad, "Dockerfile")
    hits = [d for d in lint_source(src, {rule_id}, None) if d.rule == rule_id]
    assert hits and all(d.fix is not None and d.fix.applicability == "safe" for d in hits)
    out = bad
    # non-overlapping edits from every finding, applied bottom-up
    edits = sorted((e for d in hits for e in d.fix.edits), key=lambda e: e.start, reverse=True)
    for e in edits:
        out = out[:e.start] + e.text + out[e.end:]
    assert out == fixed
    again = [d for d in lint_source(SourceFile.from_text(out, "Dockerfile"), {rule_id}, None)
             if d.rule == rule_id]
    assert again == []


# ------------------------------------------------------------------------------------- MLD312
PIP_USER_ROOT_LOCAL = """
FROM python:3.11 AS deps
COPY requirements.txt /tmp/requirements.txt
RUN pip install --user --no-cache-dir -r /tmp/requirements.txt

FROM python:3.11-slim
COPY --from=deps /root/.local /root/.local
ENV PATH=/root/.local/bin:$PATH
COPY app.py /app/app.py
USER 1000
CMD ["python", "/app/app.py"]
"""


def test_mld312_copy_of_root_local_to_a_non_root_image():
    hits = lint(PIP_USER_ROOT_LOCAL, "MLD312")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_line, d.end_column) == (6, 18, 6, 30)
    assert d.severity == "error"
    assert "/root/.local" in d.message and "user 1000" in d.message
    assert "mode 700" in d.message and "/opt/venv" in d.message


def test_mld312_user_install_then_user_switch_points_at_user_flag():
    hits = lint("""
        FROM python:3.11-slim
        RUN python3 -m pip install --no-cache-dir --user "torch==2.3.1"
        RUN useradd -m app
        USER app
        CMD ["python3", "-m", "server"]
    """, "MLD312")
    assert len(hits) == 1
    assert (hits[0].line, hits[0].column, hits[0].end_column) == (2, 43, 49)
    assert "user app" in hits[0].message


def test_mld312_pip_user_env_counts_as_user_install():
    hits = lint("""
        FROM python:3.11-slim
        ENV PIP_USER=1
        RUN pip install fastapi==0.111.0
        USER 10001
    """, "MLD312")
    assert len(hits) == 1 and hits[0].line == 3


def test_mld312_later_python_run_as_non_root_in_builder():
    hits = lint("""
        FROM python:3.11 AS build
        RUN pip install --user numpy==1.26.4
        USER nobody
        RUN python -c "import numpy"
        FROM python:3.11-slim
        COPY --from=build /etc/hostname /tmp/x
    """, "MLD312")
    assert len(hits) == 1 and hits[0].line == 2


@pytest.mark.parametrize("text", [
    # never switches user
    """
    FROM python:3.11-slim
    RUN pip install --user --no-cache-dir flask==3.0.3
    ENV PATH=/root/.local/bin:$PATH
    CMD ["flask", "run"]
    """,
    # installed by the non-root user itself
    """
    FROM python:3.11-slim
    RUN useradd -m app
    USER app
    RUN pip install --user --no-cache-dir flask==3.0.3
    """,
    # user base moved out of /root
    """
    FROM python:3.11-slim
    ENV PYTHONUSERBASE=/opt/pyuser
    RUN pip install --user --no-cache-dir flask==3.0.3
    USER 1000
    """,
    # copied out of /root into /usr/local
    """
    FROM python:3.11 AS deps
    RUN pip install --user --no-cache-dir flask==3.0.3
    FROM python:3.11-slim
    COPY --from=deps /root/.local /usr/local
    USER 1000
    """,
    # /root opened up
    """
    FROM python:3.11 AS deps
    RUN pip install --user --no-cache-dir flask==3.0.3
    FROM python:3.11-slim
    COPY --from=deps /root/.local /root/.local
    RUN chmod -R 755 /root
    USER 1000
    """,
    # the copy goes to a root image
    """
    FROM python:3.11 AS deps
    RUN pip install --user --no-cache-dir flask==3.0.3
    FROM python:3.11-slim
    COPY --from=deps /root/.local /root/.local
    CMD ["python", "-m", "flask"]
    """,
    # uv pip has no --user; a prefix install
    """
    FROM python:3.11-slim
    RUN pip install --prefix=/install --no-cache-dir flask==3.0.3
    USER 1000
    """,
    # USER from an unresolved variable
    """
    FROM python:3.11-slim
    ARG APP_USER
    RUN pip install --user --no-cache-dir flask==3.0.3
    USER ${APP_USER}
    """,
    # a fragment (no FROM): the base and its user are unknown
    """
    RUN pip install --user --no-cache-dir flask==3.0.3
    USER 1000
    """,
    # /root/.cache copy (a cache, not packages; MLD708's business)
    """
    FROM python:3.10 AS dl
    RUN pip install --no-cache-dir transformers==4.41.2
    FROM python:3.10-slim
    COPY --from=dl /root/.cache /root/.cache
    USER 1000
    """,
])
def test_mld312_not_flagged(text):
    assert lint(text, "MLD312") == []


# ------------------------------------------------------------------------------------- MLD313
def test_mld313_conda_env_file_never_copied():
    hits = lint("""
        FROM continuumio/miniconda3:24.7.1-0
        RUN conda env create -f environment.yml
        RUN conda activate research
    """, "MLD313")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (2, 25, 40)
    assert d.severity == "error"
    assert "conda env create -f environment.yml" in d.message and "build fails" in d.message


def test_mld313_copied_to_another_folder():
    hits = lint("""
        FROM pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime
        COPY src /crop/src
        COPY requirements.txt /crop/
        RUN pip install -r requirements.txt
    """, "MLD313")
    assert len(hits) == 1
    assert "/workspace/requirements.txt" in hits[0].message
    assert "COPY requirements.txt /workspace/" in hits[0].message


def test_mld313_typo_in_file_name():
    hits = lint("""
        FROM python:3
        WORKDIR /w
        COPY requirements.txt ./
        RUN pip install --no-cache-dir -r requirments.txt
    """, "MLD313")
    assert len(hits) == 1 and "/w/requirments.txt" in hits[0].message
    assert (hits[0].line, hits[0].column) == (4, 35)


def test_mld313_images_without_workdir_start_in_root():
    hits = lint("""
        FROM python:3.11-slim
        COPY requirements.txt /app/
        RUN pip install --no-cache-dir -r requirements.txt
    """, "MLD313")
    assert [h.line for h in hits] == [3]
    assert "reads /requirements.txt" in hits[0].message
    hits = lint("""
        FROM python:3.11-slim
        COPY requirements.txt /app/
        WORKDIR srv
        RUN pip install --no-cache-dir -r requirements.txt
    """, "MLD313")
    assert [h.line for h in hits] == [4] and "/srv/requirements.txt" in hits[0].message


def test_mld313_heredoc_body_is_read():
    hits = lint("""
        # syntax=docker/dockerfile:1
        FROM python:3.11-slim
        WORKDIR /srv
        RUN --mount=type=cache,target=/root/.cache/pip <<EOF
        pip3 install -r requirements-gpu.txt
        EOF
    """, "MLD313")
    assert len(hits) == 1 and (hits[0].line, hits[0].column) == (5, 17)


def test_mld313_cd_in_the_same_run_is_followed():
    hits = lint("""
        FROM python:3.11-slim
        COPY requirements.txt /app/
        RUN cd /srv && pip install --no-cache-dir -r requirements.txt
    """, "MLD313")
    assert len(hits) == 1 and "/srv/requirements.txt" in hits[0].message


@pytest.mark.parametrize("text,what", [
    ("""
     FROM python:3.11-slim
     WORKDIR /app
     RUN pip install --no-cache-dir poetry==1.8.3 && poetry install --no-root
     """, "poetry install"),
    ("""
     FROM python:3.12-slim
     WORKDIR /app
     COPY pyproject.toml ./
     RUN uv sync --locked
     """, "uv.lock"),
    ("""
     FROM node:20-slim
     WORKDIR /ui
     COPY package.json ./
     RUN npm ci
     """, "package-lock.json"),
    ("""
     FROM python:3.12-slim
     RUN uv pip sync --system requirements.lock
     """, "uv pip sync requirements.lock"),
    ("""
     FROM python:3.11-slim
     WORKDIR /app
     RUN pipenv install --system --deploy
     """, "Pipfile"),
    ("""
     FROM python:3.11-slim
     COPY requirements.txt /app/
     RUN pip install --no-cache-dir -r /app/requirements.txt -c /app/constraints.txt
     """, "-c /app/constraints.txt"),
    ("""
     FROM mambaorg/micromamba:1.5.8
     RUN micromamba create -y -n ml -f /tmp/env.yaml
     """, "/tmp/env.yaml"),
])
def test_mld313_tools(text, what):
    hits = lint(text, "MLD313")
    assert len(hits) == 1 and what in hits[0].message


@pytest.mark.parametrize("text", [
    # handed case layer-order: the broad COPY precedes the install
    """
    FROM python:3.11-slim
    WORKDIR /app
    COPY . .
    RUN pip install --no-cache-dir -r requirements.txt
    """,
    # handed case trailing-comment-copy: the COPY is read without its comment
    """
    FROM python:3.11-slim
    COPY requirements.txt /app/  # dependencies first
    RUN pip install --no-cache-dir -r /app/requirements.txt
    """,
    # created by an earlier RUN
    """
    FROM python:3.11-slim
    RUN echo "flask==3.0.3" > requirements.txt
    RUN pip install --no-cache-dir -r requirements.txt
    """,
    # fetched in the same RUN
    """
    FROM python:3.11-slim
    RUN git clone https://github.com/example/p /src && pip install -r /src/requirements.txt
    """,
    """
    FROM python:3.11-slim
    RUN wget -q https://example.com/reqs.tgz && tar xzf reqs.tgz && \
        pip install -r requirements.txt
    """,
    # bind-mounted
    """
    # syntax=docker/dockerfile:1
    FROM python:3.11-slim
    WORKDIR /app
    RUN --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
        pip install --no-cache-dir -r /tmp/requirements.txt
    """,
    """
    # syntax=docker/dockerfile:1
    FROM python:3.12-slim
    WORKDIR /app
    RUN --mount=type=bind,source=uv.lock,target=uv.lock \
        --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
        uv sync --frozen --no-install-project
    """,
    # inherited from an earlier stage
    """
    FROM python:3.11-slim AS base
    WORKDIR /app
    COPY requirements.txt .
    FROM base
    RUN pip install --no-cache-dir -r requirements.txt
    """,
    # copied from another stage, a folder
    """
    FROM alpine:3.20 AS src
    RUN mkdir /app
    FROM python:3.11-slim
    COPY --from=src /app /app
    RUN pip install -r /app/requirements.txt
    """,
    # glob, rename, heredoc COPY, a folder source
    """
    FROM python:3.11-slim
    COPY requirements*.txt /app/
    RUN pip install -r /app/requirements.txt
    """,
    """
    FROM python:3.11-slim
    COPY reqs/prod.txt /tmp/requirements.txt
    RUN pip install -r /tmp/requirements.txt
    """,
    """
    # syntax=docker/dockerfile:1
    FROM python:3.11-slim
    COPY <<EOF /tmp/requirements.txt
    flask==3.0.3
    EOF
    RUN pip install -r /tmp/requirements.txt
    """,
    """
    FROM python:3.11-slim
    COPY deploy /app
    RUN pip install -r /app/requirements.txt
    """,
    # relative COPY under an unknown working folder vs an absolute install path
    """
    FROM python:3.11-slim
    COPY requirements.txt .
    RUN pip install -r /requirements.txt
    """,
    """
    FROM mambaorg/micromamba:1.5.8
    COPY env.yaml .
    RUN micromamba install -y -n base -f /tmp/env.yaml
    """,
    # a base image the knowledge base does not know (may ship the file), onbuild tags
    """
    FROM mycompany/ml-base:2024.06
    RUN pip install --no-cache-dir -r /opt/requirements.txt
    """,
    """
    FROM python:3.6-onbuild
    RUN pip install -r requirements.txt
    """,
    # uv.lock / poetry.lock are optional without --locked/--frozen
    """
    FROM python:3.12-slim
    WORKDIR /app
    COPY pyproject.toml ./
    RUN uv sync && poetry install
    """,
    # pyproject in a parent folder (poetry, uv, npm look upward)
    """
    FROM python:3.12-slim
    COPY pyproject.toml /app/
    WORKDIR /app/sub
    RUN uv sync
    """,
    # packages named, URLs, variables
    """
    FROM python:3.11-slim
    ARG REQS=requirements.txt
    RUN pipenv install flask && pip install -r https://example.com/r.txt && \
        pip install -r $REQS
    """,
    # conda env create without -f
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda env create
    """,
    # a script that may create the file
    """
    FROM python:3.11-slim
    COPY gen.sh /gen.sh
    RUN /gen.sh && pip install -r requirements.txt
    """,
    # a subshell cd does not move the install
    """
    FROM python:3.11-slim
    WORKDIR /app
    COPY requirements.txt .
    RUN (cd /tmp && echo hi) && pip install -r requirements.txt
    """,
])
def test_mld313_not_flagged(text):
    assert lint(text, "MLD313") == []


def test_mld313_handed_case_files(tmp_path):
    import pathlib

    cases = pathlib.Path("/work/shared/cases")
    if not cases.exists():
        pytest.skip("handed cases not available")
    for name in ("layer-order", "trailing-comment-copy", "good-serving-image"):
        text = (cases / f"{name}.Dockerfile").read_text()
        src = SourceFile.from_text(text, f"{name}.Dockerfile")
        assert [d for d in lint_source(src, {"MLD313"}, str(cases)) if d.rule == "MLD313"] == []


# ------------------------------------------------------------------------------------- MLD320
def test_mld320_no_clean_with_fix():
    text = "FROM continuumio/miniconda3:24.7.1-0\nRUN conda env create -f environment.yml\n"
    hits = lint(text, "MLD320")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (2, 5, 21)
    assert d.severity == "warning"
    assert "conda env create" in d.message and "1 GB" in d.message
    assert d.fix.applicability == "safe"
    assert apply_fix(text, d) == (
        "FROM continuumio/miniconda3:24.7.1-0\n"
        "RUN conda env create -f environment.yml && conda clean -afy\n")


def test_mld320_fix_uses_the_programs_spelling():
    text = "FROM ubuntu:22.04\nRUN /opt/conda/bin/mamba install -y numpy=1.26 ; echo done\n"
    (d,) = lint(text, "MLD320")
    assert apply_fix(text, d) == ("FROM ubuntu:22.04\nRUN /opt/conda/bin/mamba install -y "
                                  "numpy=1.26 && /opt/conda/bin/mamba clean -afy ; echo done\n")


def test_mld320_partial_clean_is_upgraded():
    text = "FROM continuumio/miniconda3:24.7.1-0\nRUN conda install -y numpy && conda clean -yt\n"
    (d,) = lint(text, "MLD320")
    assert "conda clean -yt" in d.message and "-a/--all" in d.message
    assert apply_fix(text, d).endswith("conda clean -afy\n")


def test_mld320_clean_before_install_does_not_count():
    hits = lint("""
        FROM continuumio/miniconda3:24.7.1-0
        RUN conda clean -afy && conda install -y numpy=1.26
    """, "MLD320")
    assert len(hits) == 1 and hits[0].column == 25


def test_mld320_no_fix_inside_a_pipeline_or_sh_c():
    (d,) = lint("""
        FROM continuumio/miniconda3:24.7.1-0
        RUN /bin/bash -c "conda env create -f /environment.yml"
    """, "MLD320")
    assert d.fix is None


@pytest.mark.parametrize("text", [
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda install -y numpy=1.26 && conda clean --all --yes
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda install -y numpy=1.26 && conda clean -a
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda install -y python=3.10 && conda clean -tipsy
    """,
    """
    FROM mambaorg/micromamba:1.5.8
    RUN micromamba install -y -n base numpy=1.26 && micromamba clean -afy
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda install -y numpy=1.26 && rm -rf /opt/conda/pkgs/*
    """,
    """
    # syntax=docker/dockerfile:1
    FROM continuumio/miniconda3:24.7.1-0
    RUN --mount=type=cache,target=/opt/conda/pkgs conda install -y numpy=1.26
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda install --dry-run numpy && conda create -n b --clone base && conda update -y conda
    """,
    # a builder stage whose conda folder never reaches the image
    """
    FROM continuumio/miniconda3:24.7.1-0 AS build
    RUN conda install -y conda-pack && conda create -y -n app python=3.11 && \
        conda-pack -n app -o /tmp/env.tar.gz
    FROM debian:12-slim
    COPY --from=build /tmp/env.tar.gz /opt/
    """,
])
def test_mld320_not_flagged(text):
    assert lint(text, "MLD320") == []


# ------------------------------------------------------------------------------------- MLD321
def test_mld321_conda_activate_alone():
    hits = lint("""
        FROM continuumio/miniconda3:24.7.1-0
        RUN conda env create -f environment.yml
        RUN conda activate research
        RUN python -c "import research_pkg"
    """, "MLD321")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (3, 5, 28)
    assert d.severity == "error"
    assert "conda activate research" in d.message
    assert 'SHELL ["conda", "run", "-n", "research", "/bin/bash", "-c"]' in d.message
    assert "ENV PATH=/opt/conda/envs/research/bin:$PATH" in d.message


def test_mld321_source_activate_after_profile():
    hits = lint("""
        FROM continuumio/miniconda3:24.7.1-0
        RUN . /opt/conda/etc/profile.d/conda.sh && source activate ml
    """, "MLD321")
    assert len(hits) == 1 and "source activate ml" in hits[0].message


def test_mld321_virtualenv_message():
    hits = lint("""
        FROM python:3.11-slim
        WORKDIR /app
        RUN python -m venv venv
        RUN source venv/bin/activate
    """, "MLD321")
    assert len(hits) == 1
    assert "ENV PATH=/app/venv/bin:$PATH" in hits[0].message
    assert "conda" not in hits[0].message


@pytest.mark.parametrize("text", [
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda activate ml && pip install --no-cache-dir requests==2.32.3
    """,
    """
    FROM python:3.11-slim
    RUN . /opt/venv/bin/activate && python train.py
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN echo "conda activate ml" >> ~/.bashrc
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN conda init bash && conda activate ml
    """,
    """
    FROM continuumio/miniconda3:24.7.1-0
    RUN ["conda", "activate", "ml"]
    """,
])
def test_mld321_not_flagged(text):
    assert lint(text, "MLD321") == []


# ------------------------------------------------------------------------------------- MLD325
def test_mld325_uv_pip_install_with_fix():
    text = ('FROM python:3.12-slim\n'
            'RUN uv pip install --system "torch==2.3.1"\n')
    (d,) = lint(text, "MLD325")
    assert (d.line, d.column, d.end_column) == (2, 5, 19)
    assert d.severity == "warning"
    assert "uv pip install" in d.message and "/root/.cache/uv" in d.message
    assert apply_fix(text, d) == ('FROM python:3.12-slim\n'
                                  'RUN uv pip install --no-cache --system "torch==2.3.1"\n')


def test_mld325_uv_sync_and_link_mode_copy():
    (d,) = lint("""
        FROM python:3.12-slim
        ENV UV_LINK_MODE=copy
        WORKDIR /app
        COPY pyproject.toml uv.lock ./
        RUN uv sync --frozen
    """, "MLD325")
    assert "uv sync" in d.message and "stored twice" in d.message


def test_mld325_uv_no_cache_false_still_flags():
    hits = lint("""
        FROM python:3.12-slim
        ENV UV_NO_CACHE=0
        RUN uv pip install --system numpy==1.26.4
    """, "MLD325")
    assert len(hits) == 1


@pytest.mark.parametrize("text", [
    """
    FROM python:3.12-slim
    RUN uv pip install --no-cache --system numpy==1.26.4
    """,
    """
    FROM python:3.12-slim
    RUN uv --no-cache pip install --system numpy==1.26.4 && uv -n sync
    """,
    """
    FROM python:3.12-slim
    RUN uv pip install --no-cache-dir --system numpy==1.26.4
    """,
    """
    FROM python:3.12-slim
    ENV UV_NO_CACHE=1
    RUN uv pip install --system numpy==1.26.4
    """,
    """
    FROM python:3.12-slim
    RUN UV_NO_CACHE=true uv pip install --system numpy==1.26.4
    """,
    """
    # syntax=docker/dockerfile:1
    FROM python:3.12-slim
    RUN --mount=type=cache,target=/root/.cache/uv uv pip install --system numpy==1.26.4
    """,
    """
    # syntax=docker/dockerfile:1
    FROM python:3.12-slim
    ENV UV_CACHE_DIR=/opt/uv-cache
    RUN --mount=type=cache,target=/opt/uv-cache uv sync
    """,
    """
    FROM python:3.12-slim
    RUN uv pip install --system numpy==1.26.4 && uv cache clean
    """,
    """
    FROM python:3.12-slim
    RUN uv pip install --system numpy==1.26.4 && rm -rf /root/.cache
    """,
    """
    FROM python:3.12-slim
    RUN uv venv /opt/venv && uv pip compile requirements.in -o requirements.txt
    """,
    # the cache stays in a builder stage; only the virtualenv is copied
    """
    FROM python:3.12-slim AS build
    RUN uv venv /opt/venv && VIRTUAL_ENV=/opt/venv uv pip install fastapi==0.111.0
    FROM python:3.12-slim
    COPY --from=build /opt/venv /opt/venv
    """,
    # pip is MLD310's business
    """
    FROM python:3.12-slim
    RUN pip install numpy==1.26.4
    """,
])
def test_mld325_not_flagged(text):
    assert lint(text, "MLD325") == []
