"""What users see from the syntax rules MLD101, MLD102, MLD103, MLD109 and MLD115: exact
positions, messages naming the thing, fixes, and silence on the near-misses each rule's YAML
lists as not flagged."""

from __future__ import annotations

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str):
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply(text: str, fix) -> str:
    for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


# ------------------------------------------------------------------------------ MLD101
SEED06 = """\
# Download models in builder stage
FROM python:3.10 AS model-downloader

RUN pip install transformers torch

RUN python -c "
from transformers import AutoModel, AutoTokenizer
model_name = 'bert-base-uncased'
AutoModel.from_pretrained(model_name)
AutoTokenizer.from_pretrained(model_name)
"

FROM python:3.10-slim
"""


def test_mld101_reports_the_run_and_the_phantom_from():
    (d,) = lint(SEED06, "MLD101")
    assert (d.line, d.column) == (6, 15)
    assert "lines 7-11" in d.message
    assert "from transformers import AutoModel, AutoTokenizer" in d.message
    assert "FROM instruction" in d.message
    assert d.fix is not None and d.fix.applicability == "unsafe"
    fixed = apply(SEED06, d.fix)
    assert fixed.startswith("# syntax=docker/dockerfile:1\n# Download models")
    assert "RUN python - <<'EOF'\nfrom transformers import AutoModel, AutoTokenizer\n" in fixed
    assert "AutoTokenizer.from_pretrained(model_name)\nEOF\n\nFROM python:3.10-slim" in fixed
    assert lint(fixed, "MLD101") == []


def test_mld101_no_base_image_finding_on_swallowed_from():
    found = lint_source(SourceFile.from_text(SEED06, "Dockerfile"), {"MLD201", "MLD001"}, None)
    assert found == []


def test_mld101_fix_keeps_existing_syntax_directive_and_single_quotes():
    text = ("# syntax=docker/dockerfile:1.7\nFROM python:3.10-slim\n"
            "RUN python -c 'from huggingface_hub import snapshot_download\n"
            "snapshot_download(\"bert-base-uncased\")'\n")
    (d,) = lint(text, "MLD101")
    assert (d.line, d.column) == (3, 15) and "line 4 is read" in d.message
    assert apply(text, d.fix) == (
        "# syntax=docker/dockerfile:1.7\nFROM python:3.10-slim\n"
        "RUN python - <<'EOF'\nfrom huggingface_hub import snapshot_download\n"
        "snapshot_download(\"bert-base-uncased\")\nEOF\n")


def test_mld101_no_fix_when_the_shell_would_change_the_string():
    text = 'FROM python:3.10-slim\nRUN python -c "\nimport os\nprint(\\"$HOME\\")\n"\n'
    (d,) = lint(text, "MLD101")
    assert d.fix is None


@pytest.mark.parametrize("text", [
    'FROM python:3.10-slim\nRUN python -c "import sys; print(sys.version)"\n',
    'FROM python:3.10-slim\nRUN python -c "import sys; \\\n    print(sys.version)"\n',
    "FROM python:3.10-slim\nRUN python - <<'EOF'\nimport sys\nprint(sys.version)\nEOF\n",
    'FROM python:3.10-slim\nRUN ["python", "-c", "print(1)"]\n',
    'FROM python:3.10-slim\nRUN echo "a" \\\n# a comment with a \' quote\n    && echo b\n',
])
def test_mld101_not_flagged(text):
    assert lint(text, "MLD101") == []


# ------------------------------------------------------------------------------ MLD102
def test_mld102_copy_comment_and_fix():
    text = ("FROM python:3.11-slim\nCOPY requirements.txt /app/  # dependencies first\n"
            "RUN pip install --no-cache-dir -r /app/requirements.txt\n")
    (d,) = lint(text, "MLD102")
    assert (d.line, d.column, d.end_line, d.end_column) == (2, 30, 2, 50)
    assert "`# dependencies first`" in d.message and "COPY" in d.message
    assert d.fix.applicability == "safe"
    assert apply(text, d.fix) == (
        "FROM python:3.11-slim\n# dependencies first\nCOPY requirements.txt /app/\n"
        "RUN pip install --no-cache-dir -r /app/requirements.txt\n")


def test_mld102_from_line_seed09():
    text = "# Use slim variants\nFROM python:3.10-slim  # vs python:3.10 (900MB vs 300MB)\n"
    (d,) = lint(text, "MLD102")
    assert (d.line, d.column) == (2, 24)
    assert "FROM" in d.message and "one or three arguments" in d.message
    assert apply(text, d.fix) == ("# Use slim variants\n# vs python:3.10 (900MB vs 300MB)\n"
                                  "FROM python:3.10-slim\n")


def test_mld102_json_exec_form_followed_by_comment():
    text = 'FROM python:3.11-slim\nCMD ["python", "app.py"] # run the app\n'
    (d,) = lint(text, "MLD102")
    assert d.line == 2 and "stops being JSON" in d.message


def test_mld102_fix_keeps_crlf_and_indentation():
    text = "FROM python:3.11-slim\r\n  WORKDIR /app # code\r\n"
    (d,) = lint(text, "MLD102")
    assert apply(text, d.fix) == "FROM python:3.11-slim\r\n  # code\r\n  WORKDIR /app\r\n"


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\nRUN pip install --no-cache-dir requests==2.32.3  # a comment\n",
    "FROM python:3.11-slim\nCMD python app.py # shell comment\n",
    "FROM python:3.11-slim\nHEALTHCHECK CMD curl -f http://localhost/ || exit 1 # probe\n",
    "FROM python:3.11-slim\nENV DOCS_URL=https://example.com/#setup\n",
    'FROM python:3.11-slim\nLABEL description="a # inside quotes"\n',
    "FROM python:3.11-slim\nARG P=/a/b\nENV Q=${P#/a}\n",
    "FROM python:3.11-slim\n# a whole-line comment\nWORKDIR /app\n",
    "FROM python:3.11-slim\nENV IRC_CHANNEL #general\n",
])
def test_mld102_not_flagged(text):
    assert lint(text, "MLD102") == []


# ------------------------------------------------------------------------------ MLD103
def test_mld103_fragment():
    text = ("# [bad] Bad: Changes to code invalidate dependency install\nCOPY . .\n"
            "RUN pip install -r requirements.txt\n")
    (d,) = lint(text, "MLD103")
    assert (d.line, d.column, d.end_column) == (2, 1, 5)
    assert "COPY" in d.message and "no FROM" in d.message


def test_mld103_instruction_before_a_later_from():
    text = "ARG V=3.11\nWORKDIR /app\nFROM python:${V}-slim\n"
    (d,) = lint(text, "MLD103")
    assert d.line == 2 and "WORKDIR" in d.message and "line 3" in d.message


@pytest.mark.parametrize("text", [
    "# syntax=docker/dockerfile:1\n# comment\nARG V=3.11\nFROM python:${V}-slim\n",
    "FROM python:3.11-slim\nWORKDIR /app\n",
])
def test_mld103_not_flagged(text):
    assert lint(text, "MLD103") == []


# ------------------------------------------------------------------------------ MLD109
def test_mld109_global_arg_in_run():
    text = ("ARG BASE_TAG=12.1.1-runtime-ubuntu22.04\nFROM nvidia/cuda:${BASE_TAG}\n"
            'RUN echo "built from nvidia/cuda:${BASE_TAG}" > /etc/image-origin\nCMD ["bash"]\n')
    (d,) = lint(text, "MLD109")
    assert (d.line, d.column, d.end_column) == (3, 34, 45)
    assert "BASE_TAG" in d.message and "line 1" in d.message
    assert "empty string" in d.message and "ARG BASE_TAG" in d.message


def test_mld109_arg_of_another_stage():
    text = ("FROM python:3.11-slim AS builder\nARG APP_VERSION=1.4.2\n"
            "FROM python:3.11-slim\nLABEL version=$APP_VERSION\n"
            "COPY --from=builder /out /app/$APP_VERSION/\n")
    found = lint(text, "MLD109")
    assert [(d.line, d.column) for d in found] == [(4, 15), (5, 31)]
    assert "stage `builder`" in found[0].message


def test_mld109_stage_arg_in_later_from():
    text = "FROM python:3.11-slim AS base\nARG PY_TAG=3.11-slim\nFROM python:${PY_TAG}\n"
    (d,) = lint(text, "MLD109")
    assert (d.line, d.column) == (3, 13)
    assert "FROM" in d.message and "PY_TAG" in d.message


def test_mld109_used_before_declared_in_the_stage():
    text = "FROM python:3.11-slim\nWORKDIR /opt/$APP\nARG APP=svc\n"
    (d,) = lint(text, "MLD109")
    assert d.line == 2 and "later" in d.message and "line 3" in d.message


@pytest.mark.parametrize("text", [
    # re-declared in the stage
    "ARG V=1\nFROM python:3.11-slim\nARG V\nRUN echo $V\n",
    # never declared as ARG (comes from the base image or the shell)
    "FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\nRUN echo ${CUDA_VERSION} $HOME\n",
    # set by ENV in scope
    "ARG V=1\nFROM python:3.11-slim\nENV V=2\nRUN echo $V\n",
    # predefined platform and proxy args
    "ARG TARGETARCH\nFROM python:3.11-slim\nRUN echo $TARGETARCH $http_proxy\n",
    # the shell's own variables
    "ARG N=1\nFROM python:3.11-slim\nRUN N=2 && echo $N\n",
    "ARG F=1\nFROM python:3.11-slim\nRUN for F in a b; do echo $F; done\n",
    "ARG X=1\nFROM python:3.11-slim\nRUN export X=3; echo \"$X\"\n",
    "ARG L=1\nFROM python:3.11-slim\nRUN cat f | while read L; do echo $L; done\n",
    "ARG VERSION_CODENAME=x\nFROM python:3.11-slim\nRUN . /etc/os-release && echo $VERSION_CODENAME\n",
    # not expanded: single quotes, escapes, a default given, a quoted heredoc
    "ARG V=1\nFROM python:3.11-slim\nRUN echo '$V' \\$V ${V:-none}\n",
    "ARG V=1\nFROM python:3.11-slim\nRUN <<'EOF'\necho $V\nEOF\n",
    # inherited from the parent stage
    "FROM python:3.11-slim AS base\nARG V=1\nFROM base\nRUN echo $V\n",
    # global ARG used in FROM
    "ARG V=3.11\nFROM python:${V}-slim\nCMD [\"python\"]\n",
    # a base image's own ENV of that name
    "ARG PYTHON_VERSION=3.11\nFROM python:${PYTHON_VERSION}-slim\nRUN echo $PYTHON_VERSION\n",
    # runtime instructions expand at run time, not from build args
    "ARG PORT=8000\nFROM python:3.11-slim\nCMD uvicorn app:app --port $PORT\n",
    # exec-form RUN: no shell, no expansion
    "ARG V=1\nFROM python:3.11-slim\nRUN [\"echo\", \"$V\"]\n",
    # `ARG X=${X}`: a default that is empty unless --build-arg sets it
    "FROM python:3.11-slim\nARG X=${X}\n",
])
def test_mld109_not_flagged(text):
    assert lint(text, "MLD109") == []


def test_mld109_expanding_heredoc_body():
    text = "ARG V=1\nFROM python:3.11-slim\nRUN <<EOF\necho $V\nEOF\n"
    (d,) = lint(text, "MLD109")
    assert (d.line, d.column) == (4, 6)


# ------------------------------------------------------------------------------ MLD115
def test_mld115_shell_form_cmd_safe_fix():
    text = "FROM python:3.11-slim\nCOPY app.py /app/app.py\nCMD python /app/app.py\n"
    (d,) = lint(text, "MLD115")
    assert (d.line, d.column, d.end_column) == (3, 1, 4)
    assert "python /app/app.py" in d.message and "SIGTERM" in d.message
    assert d.fix.applicability == "safe"
    assert apply(text, d.fix).endswith('CMD ["python", "/app/app.py"]\n')


def test_mld115_shell_syntax_gets_unsafe_fix():
    text = ("FROM python:3.10-slim\n"
            "CMD python /app/download_model.py && python /app/app.py --port $PORT\n")
    (d,) = lint(text, "MLD115")
    assert d.fix.applicability == "unsafe"
    assert apply(text, d.fix).endswith(
        'CMD ["/bin/sh", "-c", "python /app/download_model.py && '
        'exec python /app/app.py --port $PORT"]\n')


def test_mld115_shell_form_entrypoint():
    text = "FROM python:3.11-slim\nENTRYPOINT uvicorn app.main:app --port $PORT\nCMD [\"--x\"]\n"
    (d,) = lint(text, "MLD115")
    assert d.line == 2 and "ENTRYPOINT" in d.message and "ignores CMD" in d.message


def test_mld115_cmd_inherited_by_final_stage():
    text = "FROM python:3.11-slim AS base\nCMD python app.py\nFROM base\nRUN echo hi\n"
    (d,) = lint(text, "MLD115")
    assert d.line == 2


@pytest.mark.parametrize("text", [
    'FROM python:3.11-slim\nCMD ["python", "app.py"]\n',
    "FROM python:3.11-slim\nENTRYPOINT exec uvicorn app.main:app --port $PORT\n",
    "FROM python:3.11-slim\nHEALTHCHECK --interval=30s CMD python -c \"import x\"\n"
    "CMD [\"python\", \"app.py\"]\n",
    # a builder stage's CMD never runs
    "FROM python:3.11 AS builder\nCMD python build.py\nFROM python:3.11-slim\n"
    "CMD [\"python\", \"app.py\"]\n",
    # the shell is the program
    "FROM ubuntu:22.04\nCMD /bin/bash\n",
    # single-quoted JSON is MLD105's finding
    "FROM python:3.11-slim\nCMD ['python', 'app.py']\n",
    # Windows containers (PowerShell / cmd, Windows base images)
    "FROM microsoft/iis\nENTRYPOINT powershell .\\Init.ps1\n",
    "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nCMD C:\\app\\run.exe --serve\n",
    # CMD ignored behind a shell-form ENTRYPOINT that starts with exec
    "FROM python:3.11-slim\nENTRYPOINT exec python app.py\nCMD python other.py\n",
])
def test_mld115_not_flagged(text):
    assert lint(text, "MLD115") == []


def test_mld115_no_fix_with_assignment_prefix():
    (d,) = lint("FROM python:3.11-slim\nENTRYPOINT LEVEL=${LEVEL} /run.sh\n", "MLD115")
    assert d.fix is None


def test_mld115_cmd_behind_exec_entrypoint_fix_is_unsafe():
    text = 'FROM python:3.11-slim\nENTRYPOINT ["/entrypoint.sh"]\nCMD python app.py\n'
    (d,) = lint(text, "MLD115")
    assert d.line == 3 and "ENTRYPOINT receives" in d.message
    assert d.fix.applicability == "unsafe"
    assert apply(text, d.fix).endswith('CMD ["python", "app.py"]\n')
