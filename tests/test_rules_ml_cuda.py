"""Tests of the CUDA / framework-build rules (MLD701-MLD703, MLD706, MLD713, MLD715): where they
fire, what their messages name, their fixes, and the documented non-findings."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.registry import load_all
from mldlint.source import SourceFile

MINE = ("MLD701", "MLD702", "MLD703", "MLD706", "MLD713", "MLD715")


def lint(text: str, rule: str, context: str | None = None):
    src = SourceFile.from_text(textwrap.dedent(text), "Dockerfile")
    found = lint_source(src, {rule, "MLD004"}, context)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply(text: str, fix) -> str:
    for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


def _fixed_examples():
    metas = load_all()
    for rid in MINE:
        for n, ex in enumerate(metas[rid].examples):
            if "fixed" in ex:
                yield pytest.param(rid, ex, id=f"{rid}-{n}")


@pytest.mark.parametrize("rid,example", list(_fixed_examples()))
def test_yaml_fixed_text_is_the_fix_applied(rid, example):
    src = SourceFile.from_text(example["bad"], "Dockerfile")
    hits = [d for d in lint_source(src, {rid}, None) if d.rule == rid]
    fixes = [d.fix for d in hits if d.fix is not None]
    assert len(fixes) == 1
    assert apply(example["bad"], fixes[0]) == example["fixed"]
    # the fixed file is clean for that rule
    assert lint(example["fixed"], rid) == []


# --------------------------------------------------------------------------- MLD701
def test_701_major_mismatch_position_and_message():
    hits = lint("""\
        FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
        RUN pip3 install --no-cache-dir torch==2.3.1 --index-url https://download.pytorch.org/whl/cu121
        """, "MLD701")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (2, 33, 45)
    assert d.severity == "warning"
    assert "torch 2.3.1" in d.message and "CUDA 12.1" in d.message
    assert "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04" in d.message
    assert "driver" in d.message and "is_available() is False" in d.message
    assert d.fix is not None and d.fix.applicability == "unsafe"


def test_701_pypi_default_names_pypi_build():
    hits = lint("""\
        FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
        RUN python3 -m pip install --no-cache-dir torch==2.2.0
        """, "MLD701")
    assert len(hits) == 1
    assert "torch 2.2.0" in hits[0].message and "PyPI" in hits[0].message
    assert "CUDA 12.1" in hits[0].message and "CUDA 11.8" in hits[0].message


def test_701_same_major_minor_mismatch_says_duplicate():
    hits = lint("""\
        FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
        RUN pip install --no-cache-dir torch==2.3.1
        """, "MLD701")
    assert len(hits) == 1
    assert "minor" in hits[0].message and "duplicate" in hits[0].message


def test_701_arg_built_tag():
    hits = lint("""\
        ARG CUDA_VERSION=11.8.0
        FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu22.04
        RUN pip install --no-cache-dir "torch==2.1.2+cu121" --extra-index-url https://download.pytorch.org/whl/cu121
        """, "MLD701")
    assert len(hits) == 1 and "ARG defaults" in hits[0].message


@pytest.mark.parametrize("text", [
    # matching CUDA
    """\
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    RUN pip3 install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu124
    """,
    # no CUDA base
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
    # CPU build on a CUDA base
    """\
    FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu
    """,
    # unpinned torch from PyPI: build unknown
    """\
    FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
    RUN pip install --no-cache-dir torch
    """,
    # private mirror
    """\
    FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
    RUN pip install --no-cache-dir --index-url https://pypi.internal/simple torch==2.2.0
    """,
    # -base flavor, same major
    """\
    FROM nvidia/cuda:12.4.1-base-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.3.1
    """,
    # pytorch/pytorch image: the pin is already satisfied
    """\
    FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    # NGC minor difference: MLD710's business
    """\
    FROM nvcr.io/nvidia/pytorch:23.10-py3
    RUN pip install --no-cache-dir torch==2.1.0 torchvision==0.16.0
    """,
    # a later install replaces the mismatching one
    """\
    FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.2.0 --index-url https://download.pytorch.org/whl/cu118
    RUN pip install --no-cache-dir torch==2.2.0
    """,
    # seed03: labels match the base
    """\
    FROM nvidia/cuda:11.7.1-cudnn8-runtime-ubuntu22.04
    RUN pip3 install --no-cache-dir torch==2.0.0+cu117 torchvision==0.15.0+cu117 \\
        --extra-index-url https://download.pytorch.org/whl/cu117
    """,
])
def test_701_not_flagged(text):
    assert lint(text, "MLD701") == []


def test_701_no_fix_when_base_cuda_has_no_build():
    hits = lint("""\
        FROM nvidia/cuda:12.2.2-runtime-ubuntu22.04
        RUN pip install --no-cache-dir torch==2.2.0 --index-url https://download.pytorch.org/whl/cu118
        """, "MLD701")
    assert len(hits) == 1 and hits[0].fix is None


# --------------------------------------------------------------------------- MLD702
def test_702_fires_on_package_word():
    hits = lint("""\
        FROM python:3.11-slim
        WORKDIR /srv
        RUN pip install --no-cache-dir torch==2.4.1 transformers==4.44.2 fastapi==0.115.0
        """, "MLD702")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (3, 32, 44)
    assert "torch 2.4.1 from PyPI is a CUDA 12.1 build" in d.message
    assert "python:3.11-slim" in d.message and "whl/cpu" in d.message
    assert "GB" in d.message
    assert d.fix is None  # mixed command: the CPU index does not carry transformers


def test_702_unpinned_torch_and_tf_and_jax():
    hits = lint("""\
        FROM python:3.11-slim
        RUN pip install --no-cache-dir torch "tensorflow[and-cuda]==2.16.1" "jax[cuda12]==0.4.30"
        """, "MLD702")
    assert [h.message.split(" ")[0] for h in hits] == ["torch", "tensorflow[and-cuda]",
                                                       "jax[cuda12]"]


def test_702_builder_stage_copied_into_final():
    hits = lint("""\
        FROM python:3.11-slim AS build
        RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir torch==2.4.1
        FROM python:3.11-slim
        COPY --from=build /opt/venv /opt/venv
        """, "MLD702")
    assert len(hits) == 1 and hits[0].line == 2


@pytest.mark.parametrize("text", [
    # CPU index / label / find-links
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu
    """,
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1+cpu -f https://download.pytorch.org/whl/torch_stable.html
    """,
    # GPU signals
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    """\
    FROM python:3.11-slim
    ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 bitsandbytes==0.43.1
    """,
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1
    CMD ["python", "serve.py", "--device", "cuda"]
    """,
    """\
    FROM python:3.11-slim
    # GPU inference server
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    """\
    FROM python:3.11-slim
    RUN uv pip install --system --torch-backend=cu121 torch==2.4.1
    """,
    # unknown base
    """\
    ARG BASE
    FROM $BASE
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    # arm64
    """\
    FROM --platform=linux/arm64 python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1
    """,
    # torch already installed from the CPU index; later plain requirement is satisfied
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu
    RUN pip install --no-cache-dir torch==2.4.1 transformers==4.44.2
    """,
    # builder stage whose packages are not shipped
    """\
    FROM python:3.10 AS model-downloader
    RUN pip install --no-cache-dir transformers torch
    FROM python:3.10-slim
    COPY --from=model-downloader /root/.cache/huggingface /root/.cache/huggingface
    """,
    # requirements files are not read
    """\
    FROM python:3.11-slim
    COPY requirements.txt .
    RUN pip install --no-cache-dir -r requirements.txt
    """,
    # tensorflow without the CUDA extra
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir tensorflow==2.16.1
    """,
])
def test_702_not_flagged(text):
    assert lint(text, "MLD702") == []


# --------------------------------------------------------------------------- MLD703
def test_703_line_mismatch_is_error_with_paired_version():
    hits = lint("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir torch==2.1.2 torchvision==0.18.0 --index-url https://download.pytorch.org/whl/cpu
        """, "MLD703")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column) == (2, 45)
    assert d.severity == "error"
    assert "torchvision 0.18.0" in d.message and "torch 2.1.2" in d.message
    assert "torchvision==0.16.2" in d.message and "torch==2.3.0" in d.message


def test_703_exact_pair_disagreement_is_warning():
    hits = lint("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir torch==2.1.2 torchvision==0.16.0
        """, "MLD703")
    assert [h.severity for h in hits] == ["warning"]


def test_703_unverified_row_is_info():
    hits = lint("""\
        FROM python:3.12-slim
        RUN pip install --no-cache-dir torch==2.10.0 torchvision==0.25.1
        """, "MLD703")
    assert [h.severity for h in hits] == ["info"]
    assert "unverified" in hits[0].message


def test_703_mixed_labels_error():
    hits = lint("""\
        FROM python:3.10-slim
        RUN pip install torch==2.0.1+cu117 torchaudio==2.0.2+cu118 -f https://download.pytorch.org/whl/torch_stable.html
        """, "MLD703")
    assert len(hits) == 1 and hits[0].severity == "error"
    assert "cu118" in hits[0].message and "cu117" in hits[0].message


def test_703_earlier_run_torch():
    hits = lint("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir torch==2.2.2
        RUN pip install --no-cache-dir torchvision==0.19.1
        """, "MLD703")
    assert len(hits) == 1 and hits[0].line == 3
    assert "line 2" in hits[0].message and "replaces" in hits[0].message


@pytest.mark.parametrize("text", [
    # seed03: torch 2.0.0 pairs with 0.15.0 and 0.15.1
    """\
    FROM nvidia/cuda:11.7.1-cudnn8-runtime-ubuntu22.04
    RUN pip3 install --no-cache-dir torch==2.0.0+cu117 torchvision==0.15.0+cu117 \\
        --extra-index-url https://download.pytorch.org/whl/cu117
    """,
    """\
    FROM python:3.10-slim
    RUN pip install torch==2.0.0 torchvision==0.15.1 torchaudio==2.0.1
    """,
    # torch unpinned or ranged: nothing known
    """\
    FROM python:3.10-slim
    RUN pip install torch torchvision==0.18.0
    """,
    """\
    FROM python:3.10-slim
    RUN pip install "torch>=2.1" torchvision==0.18.0
    """,
    # unknown torch release
    """\
    FROM python:3.10-slim
    RUN pip install torch==3.0.0 torchvision==0.99.0
    """,
    # the last torchaudio with a later torch
    """\
    FROM python:3.12-slim
    RUN pip install torch==2.12.0 torchaudio==2.11.0
    """,
    # companion unpinned
    """\
    FROM python:3.10-slim
    RUN pip install torch==2.1.2 torchvision
    """,
])
def test_703_not_flagged(text):
    assert lint(text, "MLD703") == []


# --------------------------------------------------------------------------- MLD706
def test_706_unpinned_frozen_index():
    hits = lint("""\
        FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
        RUN pip3 install --no-cache-dir torch --extra-index-url https://download.pytorch.org/whl/cu121
        """, "MLD706")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (2, 33, 38)
    assert "2.5.1" in d.message and "cu121" in d.message
    assert d.fix is not None and d.fix.applicability == "safe"


def test_706_pin_not_on_index():
    hits = lint("""\
        FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
        RUN pip3 install --no-cache-dir torch==2.6.0 transformers==4.44.2 --extra-index-url https://download.pytorch.org/whl/cu121
        """, "MLD706")
    assert len(hits) == 1 and "not on the cu121 index" in hits[0].message
    assert hits[0].fix is None  # transformers is not on the PyTorch index


def test_706_nightly_points_at_option():
    hits = lint("""\
        FROM python:3.11-slim
        RUN pip install --pre torch==2.6.0.dev20241112 --extra-index-url https://download.pytorch.org/whl/nightly/cpu
        """, "MLD706")
    assert len(hits) == 1
    assert hits[0].column == 48 and "torchtriton" in hits[0].message


@pytest.mark.parametrize("text", [
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install --no-cache-dir torch==2.2.2 --extra-index-url https://download.pytorch.org/whl/cu121
    """,
    """\
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --extra-index-url https://download.pytorch.org/whl/cpu
    """,
    """\
    FROM nvidia/cuda:11.7.1-cudnn8-runtime-ubuntu22.04
    RUN pip3 install --no-cache-dir torch==2.0.0+cu117 torchvision==0.15.0+cu117 \\
        --extra-index-url https://download.pytorch.org/whl/cu117
    """,
    # companions follow an exact torch pin
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install torch==2.2.2 torchvision torchaudio --extra-index-url https://download.pytorch.org/whl/cu121
    """,
    # a current index with an unpinned torch
    """\
    FROM nvidia/cuda:12.6.3-runtime-ubuntu22.04
    RUN pip3 install torch --extra-index-url https://download.pytorch.org/whl/cu126
    """,
    # uv takes the first index that has the package
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN uv pip install --system torch --extra-index-url https://download.pytorch.org/whl/cu121
    """,
    # --index-url
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install torch --index-url https://download.pytorch.org/whl/cu121
    """,
    # a range that stops before the index does
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install "torch>=2.1,<2.5" --extra-index-url https://download.pytorch.org/whl/cu121
    """,
])
def test_706_not_flagged(text):
    assert lint(text, "MLD706") == []


# --------------------------------------------------------------------------- MLD713
def test_713_fires_and_fix_inserts_env():
    text = ("FROM python:3.11-slim\r\n"
            "RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121\r\n")
    hits = lint(text, "MLD713")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column) == (2, 32) and d.severity == "info"
    assert "python:3.11-slim" in d.message and "NVIDIA_DRIVER_CAPABILITIES" in d.message
    fixed = apply(text, d.fix)
    assert fixed.splitlines(keepends=True)[1] == (
        "ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility\r\n")


def test_713_copied_venv_from_builder():
    hits = lint("""\
        FROM python:3.11 AS build
        RUN python -m venv /opt/venv && /opt/venv/bin/pip install flash-attn==2.6.3
        FROM python:3.11-slim
        COPY --from=build /opt/venv /opt/venv
        """, "MLD713")
    assert len(hits) == 1 and hits[0].line == 4


@pytest.mark.parametrize("text", [
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
    """\
    FROM python:3.11-slim
    ENV NVIDIA_VISIBLE_DEVICES=all
    RUN pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
    # PyPI torch without an explicit GPU choice
    """\
    FROM python:3.11-slim
    RUN pip install torch==2.4.1
    """,
    # unknown third-party base (may inherit the variables)
    """\
    FROM runpod/base:0.6.2-cuda12.1.0
    RUN pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
])
def test_713_not_flagged(text):
    assert lint(text, "MLD713") == []


# --------------------------------------------------------------------------- MLD715
def test_715_points_at_image():
    hits = lint("""\
        FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
        RUN pip3 install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
        """, "MLD715")
    assert len(hits) == 1
    d = hits[0]
    assert (d.line, d.column, d.end_column) == (1, 6, 44) and d.severity == "info"
    assert "nvidia/cuda:12.1.1-base-ubuntu22.04" in d.message and "1-3 GB" in d.message


def test_715_readable_requirements_checked(tmp_path):
    (tmp_path / "requirements.txt").write_text("fastapi==0.115.0\nuvicorn\n")
    text = """\
        FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
        COPY requirements.txt .
        RUN pip3 install --no-cache-dir torch==2.4.1 -r requirements.txt
        """
    assert len(lint(text, "MLD715", str(tmp_path))) == 1
    (tmp_path / "requirements.txt").write_text("faster-whisper==1.0.3\n")
    assert lint(text, "MLD715", str(tmp_path)) == []


@pytest.mark.parametrize("text", [
    """\
    FROM nvidia/cuda:12.1.1-base-ubuntu22.04
    RUN pip3 install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
    """\
    FROM nvidia/cuda:12.1.1-devel-ubuntu22.04
    RUN pip3 install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    """,
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install torch==2.4.1 onnxruntime-gpu==1.19.2
    """,
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install tensorflow==2.15.0
    """,
    """\
    FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends libnccl2 && rm -rf /var/lib/apt/lists/*
    RUN pip3 install torch==2.4.1
    """,
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install torch==2.4.1 -r requirements.txt
    """,
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip3 install torch==2.4.1 --index-url https://download.pytorch.org/whl/cpu
    """,
    # builder stage not part of the final image
    """\
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04 AS build
    RUN pip3 install torch==2.4.1
    FROM python:3.11-slim
    COPY --from=build /etc/hostname /tmp/x
    """,
])
def test_715_not_flagged(text):
    assert lint(text, "MLD715") == []
