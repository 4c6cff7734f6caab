"""What users see from the rules of mldlint.rules.ml_images (MLD204, MLD704, MLD705, MLD707-MLD712,
MLD714): exact positions and messages, and silence on the documented non-findings."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str, context: str | None = None):
    text = textwrap.dedent(text).lstrip("\n")
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, context)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply_fix(text: str, diag) -> str:
    text = textwrap.dedent(text).lstrip("\n")
    for e in sorted(diag.fix.edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


# ------------------------------------------------------------------------------------ MLD704
def test_mld704_assert_and_nvidia_smi():
    ds = lint("""
        FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime
        WORKDIR /workspace
        RUN python -c "import torch; assert torch.cuda.is_available(), 'no GPU'"
        RUN nvidia-smi
        """, "MLD704")
    assert [(d.line, d.column) for d in ds] == [(3, 37), (4, 5)]
    assert "torch.cuda.is_available()" in ds[0].message
    assert ds[0].severity == "error"
    assert "nvidia-smi" in ds[1].message


@pytest.mark.parametrize("run", [
    "RUN python3 -c 'import torch; x = torch.zeros(2).cuda()'",
    "RUN bash -c \"python -c 'import torch; assert torch.cuda.device_count() > 0'\"",
    'RUN ["python", "-c", "import tensorflow as tf; assert tf.config.list_physical_devices(\'GPU\')"]',
    "RUN python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'",
    "RUN python -c 'import torch; t = torch.ones(1, device=\"cuda\")'",
    "RUN conda run -n env python -c 'import torch; assert torch.cuda.is_available()'",
    "RUN nvidia-smi && pip install --no-cache-dir numpy==1.26.4",
])
def test_mld704_fires(run):
    ds = lint(f"FROM python:3.11-slim\n{run}\n", "MLD704")
    assert len(ds) == 1 and ds[0].line == 2


def test_mld704_python_heredoc():
    ds = lint("""
        # syntax=docker/dockerfile:1
        FROM python:3.11-slim
        RUN python3 - <<'EOF'
        import torch
        if not torch.cuda.is_available():
            raise SystemExit("no GPU")
        EOF
        """, "MLD704")
    assert [(d.line, d.column) for d in ds] == [(5, 8)]


def test_mld704_uv_torch_backend_auto():
    ds = lint("""
        FROM python:3.12-slim
        RUN uv pip install --system --torch-backend=auto torch==2.5.1
        """, "MLD704")
    assert len(ds) == 1 and ds[0].column == 29
    assert "CPU wheels" in ds[0].message


@pytest.mark.parametrize("body", [
    "RUN python -c 'import torch; print(torch.cuda.is_available())'",
    "RUN python -c 'import tensorflow as tf; print(tf.config.list_physical_devices(\"GPU\"))'",
    "RUN python -c 'import tensorflow as tf; assert tf.test.is_built_with_cuda()'",
    "RUN nvidia-smi || true",
    "RUN nvidia-smi | tee /tmp/gpu.txt",
    "RUN if nvidia-smi; then echo gpu; fi",
    "RUN nvidia-smi; echo done",
    "RUN python -c 'import torch; assert torch.cuda.is_available()' || echo 'no GPU at build'",
    "RUN python -c 'import torch\nif torch.cuda.is_available(): torch.zeros(1).cuda()'",
    "RUN uv pip install --system --torch-backend=cu124 torch==2.5.1",
    'CMD ["nvidia-smi"]',
    'HEALTHCHECK CMD python -c "import torch; assert torch.cuda.is_available()"',
    'ENTRYPOINT python -c "import torch; assert torch.cuda.is_available()"',
])
def test_mld704_quiet(body):
    assert lint(f"FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime\n{body}\n", "MLD704") == []


# ------------------------------------------------------------------------------------ MLD705
CVD = """
FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime
ENV CUDA_VISIBLE_DEVICES=0,1 \\
    PYTHONUNBUFFERED=1
COPY train.py /workspace/train.py
"""


def test_mld705_fires_with_fix():
    ds = lint(CVD, "MLD705")
    assert [(d.line, d.column, d.end_column) for d in ds] == [(2, 5, 29)]
    assert "CUDA_VISIBLE_DEVICES=0,1" in ds[0].message
    assert ds[0].fix.applicability == "safe"
    assert apply_fix(CVD, ds[0]) == ("FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime\n"
                                     "ENV PYTHONUNBUFFERED=1\n"
                                     "COPY train.py /workspace/train.py\n")


def test_mld705_single_pair_removes_instruction():
    text = "FROM python:3.11-slim\nENV A=1\nENV CUDA_VISIBLE_DEVICES=0\nCMD [\"python\"]\n"
    ds = lint(text, "MLD705")
    assert apply_fix(text, ds[0]) == "FROM python:3.11-slim\nENV A=1\nCMD [\"python\"]\n"


def test_mld705_last_pair():
    text = "FROM python:3.11-slim\nENV A=1 NVIDIA_VISIBLE_DEVICES=0\n"
    ds = lint(text, "MLD705")
    assert len(ds) == 1 and "NVIDIA_VISIBLE_DEVICES" in ds[0].message
    assert apply_fix(text, ds[0]) == "FROM python:3.11-slim\nENV A=1\n"


@pytest.mark.parametrize("env", [
    "NVIDIA_VISIBLE_DEVICES=all", "NVIDIA_VISIBLE_DEVICES=none", "NVIDIA_VISIBLE_DEVICES=void",
    "CUDA_VISIBLE_DEVICES=-1", 'CUDA_VISIBLE_DEVICES=""', "NVIDIA_DRIVER_CAPABILITIES=compute",
])
def test_mld705_quiet(env):
    assert lint(f"FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nENV {env}\n", "MLD705") == []


def test_mld705_builder_stage_not_flagged():
    text = """
        FROM python:3.11 AS build
        ENV CUDA_VISIBLE_DEVICES=0
        FROM python:3.11-slim
        CMD ["python"]
        """
    assert lint(text, "MLD705") == []


# ------------------------------------------------------------------------------------ MLD204
def test_mld204_devel_final_with_fix():
    text = """
        FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
        RUN pip3 install --no-cache-dir vllm==0.6.1
        CMD ["python3", "-m", "vllm.entrypoints.openai.api_server"]
        """
    ds = lint(text, "MLD204")
    assert [(d.line, d.column) for d in ds] == [(1, 6)]
    assert "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04" in ds[0].message
    assert ds[0].fix.applicability == "unsafe"
    assert apply_fix(text, ds[0]).startswith("FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n")


@pytest.mark.parametrize("extra", [
    'ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"',
    "ENV CUDA_HOME=/usr/local/cuda",
    "RUN pip3 install --no-cache-dir --no-build-isolation flash-attn==2.6.3",
    "RUN pip3 install --no-cache-dir flash-attn==2.6.3",
    "RUN pip3 install --no-cache-dir git+https://github.com/NVIDIA/apex",
    "RUN pip3 install --no-cache-dir -e .",
    "RUN python3 setup.py install",
    "RUN cmake -B build && cmake --build build",
    "RUN nvcc -o k k.cu",
    "RUN apt-get install -y --no-install-recommends cmake",
    "RUN DS_BUILD_OPS=1 pip3 install --no-cache-dir deepspeed==0.14.4",
])
def test_mld204_compiles_quiet(extra):
    text = f"FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\n{extra}\nCMD [\"python3\", \"serve.py\"]\n"
    assert lint(text, "MLD204") == []


def test_mld204_requirements_in_context(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==2.4.1\nflash-attn==2.6.3\n")
    text = """
        FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
        COPY requirements.txt .
        RUN pip3 install --no-cache-dir -r requirements.txt
        CMD ["python3", "serve.py"]
        """
    assert lint(text, "MLD204", str(tmp_path)) == []


@pytest.mark.parametrize("text", [
    # builder stage on devel, runtime final
    "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04 AS b\nRUN true\n"
    "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nCMD [\"./x\"]\n",
    # interactive development images
    "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nCMD [\"jupyter\", \"lab\"]\n",
    "FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN true\n",
    # NGC: no runtime counterpart
    "FROM nvcr.io/nvidia/pytorch:23.10-py3\nCMD [\"python\", \"x.py\"]\n",
])
def test_mld204_quiet(text):
    assert lint(text, "MLD204") == []


def test_mld204_through_stage():
    text = """
        FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-devel AS base
        RUN pip install --no-cache-dir fastapi==0.115.0
        FROM base
        CMD ["python", "serve.py"]
        """
    ds = lint(text, "MLD204")
    assert len(ds) == 1 and ds[0].line == 3 and "through stage `base`" in ds[0].message
    assert ds[0].fix is None


# ------------------------------------------------------------------------------------ MLD707
def test_mld707_from_pretrained_variable():
    ds = lint("""
        # syntax=docker/dockerfile:1
        FROM python:3.10-slim
        RUN python3 <<'EOF'
        from transformers import AutoModel
        name = "bert-base-uncased"
        AutoModel.from_pretrained(name)
        EOF
        """, "MLD707")
    assert [(d.line, d.column) for d in ds] == [(6, 27)]
    assert "bert-base-uncased" in ds[0].message and ds[0].severity == "info"


def test_mld707_cli():
    ds = lint("FROM python:3.11-slim\nRUN hf download org/model --local-dir /m\n", "MLD707")
    assert [(d.line, d.column) for d in ds] == [(2, 17)]


@pytest.mark.parametrize("code", [
    "from transformers import AutoModel; AutoModel.from_pretrained('org/m', revision='abc123')",
    "from transformers import AutoModel; AutoModel.from_pretrained('/models/m')",
    "from transformers import AutoModel; AutoModel.from_pretrained('./m')",
    "import os; from transformers import AutoModel; AutoModel.from_pretrained(os.environ['M'])",
    "from transformers import pipeline; pipeline('sentiment-analysis')",
    "from transformers import AutoModel; AutoModel.from_pretrained('org/m', local_files_only=True)",
])
def test_mld707_quiet(code):
    assert lint(f'FROM python:3.11-slim\nRUN python -c "{code}"\n', "MLD707") == []


def test_mld707_not_in_cmd():
    text = 'FROM python:3.11-slim\nCMD python -c "from transformers import AutoModel; AutoModel.from_pretrained(\'org/m\')"\n'
    assert lint(text, "MLD707") == []


# ------------------------------------------------------------------------------------ MLD708
HF_ROOT = """
FROM python:3.11-slim
RUN pip install --no-cache-dir huggingface_hub==0.24.6
RUN python -c "from huggingface_hub import snapshot_download; snapshot_download('org/model')"
RUN useradd --uid 1001 --create-home svc
USER 1001
CMD ["python", "/home/svc/serve.py"]
"""


def test_mld708_download_as_root():
    ds = lint(HF_ROOT, "MLD708")
    assert [(d.line, d.column) for d in ds] == [(3, 81)]
    assert "/root/.cache/huggingface" in ds[0].message and "/home/svc" in ds[0].message


@pytest.mark.parametrize("change", [
    ("FROM python:3.11-slim\n", "FROM python:3.11-slim\nENV HF_HOME=/opt/hf\n"),
    ("USER 1001\n", ""),
    ("snapshot_download('org/model')", "snapshot_download('org/model', local_dir='/models/m')"),
    ("RUN useradd", "RUN chmod 755 /root && useradd"),
])
def test_mld708_quiet(change):
    text = HF_ROOT.replace(*change)
    assert lint(text, "MLD708") == []


def test_mld708_download_after_user_switch():
    text = """
        FROM python:3.11-slim
        RUN useradd --create-home app
        USER app
        RUN python -c "from huggingface_hub import snapshot_download; snapshot_download('org/model')"
        """
    assert lint(text, "MLD708") == []


def test_mld708_cache_dir_created_by_root():
    text = """
        FROM python:3.11-slim
        ENV HF_HOME=/models/cache
        RUN mkdir -p /models/cache && useradd --create-home app
        USER app
        """
    ds = lint(text, "MLD708")
    assert [(d.line, d.column) for d in ds] == [(2, 5)]
    assert "HF_HOME=/models/cache" in ds[0].message and "PermissionError" in ds[0].message


@pytest.mark.parametrize("fix", [
    "RUN chown -R app /models",
    "RUN chmod -R 777 /models/cache",
])
def test_mld708_cache_dir_chowned(fix):
    text = ("FROM python:3.11-slim\nENV HF_HOME=/models/cache\n"
            "RUN mkdir -p /models/cache && useradd --create-home app\n" + fix + "\nUSER app\n")
    assert lint(text, "MLD708") == []


def test_mld708_copied_root_cache():
    text = """
        FROM python:3.10 AS dl
        RUN pip install --no-cache-dir transformers==4.44.2
        FROM python:3.10-slim
        RUN useradd -m app
        COPY --from=dl /root/.cache /root/.cache
        USER app
        """
    ds = lint(text, "MLD708")
    assert [d.line for d in ds] == [5]


# ------------------------------------------------------------------------------------ MLD709
OPENCV = """
FROM python:3.11-slim
RUN pip install --no-cache-dir "opencv-python==4.10.0.84" numpy==1.26.4
CMD ["python", "/detect.py"]
"""


def test_mld709_fires_with_fix():
    ds = lint(OPENCV, "MLD709")
    assert [(d.line, d.column) for d in ds] == [(2, 32)]
    assert "libGL.so.1" in ds[0].message and "python:3.11-slim" in ds[0].message
    assert apply_fix(OPENCV, ds[0]).splitlines()[1] == \
        'RUN pip install --no-cache-dir "opencv-python-headless==4.10.0.84" numpy==1.26.4'


@pytest.mark.parametrize("text", [
    OPENCV.replace("python:3.11-slim", "python:3.11"),
    OPENCV.replace("opencv-python", "opencv-python-headless"),
    OPENCV.replace("RUN pip", "RUN apt-get update && apt-get install -y --no-install-recommends "
                   "libgl1 libglib2.0-0 && rm -rf /var/lib/apt/lists/*\nRUN pip"),
    OPENCV.replace("4.10.0.84", "4.1.0.25"),
    "FROM python:3.11-slim AS b\nRUN pip install --no-cache-dir opencv-python==4.10.0.84\n"
    "FROM python:3.11\nCMD [\"python\"]\n",
])
def test_mld709_quiet(text):
    assert lint(text, "MLD709") == []


# ------------------------------------------------------------------------------------ MLD710
def test_mld710_fires():
    ds = lint("""
        FROM nvcr.io/nvidia/pytorch:23.10-py3
        RUN pip install --no-cache-dir torch==2.1.0 torchvision==0.16.0
        """, "MLD710")
    assert [(d.line, d.column) for d in ds] == [(2, 32)]
    assert "2.1.0a0+32f93b1" in ds[0].message and "`torchvision==0.16.0`" in ds[0].message


@pytest.mark.parametrize("run", [
    "RUN pip install --no-cache-dir torch",
    "RUN pip install --no-cache-dir --no-deps vllm==0.4.0",
    "RUN pip install --no-cache-dir -c /etc/pip/constraint.txt torch==2.1.0",
    "RUN pip install --no-cache-dir transformers==4.44.2",
])
def test_mld710_quiet(run):
    assert lint(f"FROM nvcr.io/nvidia/pytorch:23.10-py3\n{run}\n", "MLD710") == []


def test_mld710_not_on_other_images():
    assert lint("FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime\n"
                "RUN pip install --no-cache-dir torch==2.4.1\n", "MLD710") == []


# ------------------------------------------------------------------------------------ MLD711
def test_mld711_no_arch_list():
    ds = lint("""
        FROM nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04
        RUN pip3 install --no-cache-dir "git+https://github.com/facebookresearch/detectron2.git"
        """, "MLD711")
    assert [(d.line, d.column) for d in ds] == [(2, 33)]
    assert "detectron2" in ds[0].message and "TORCH_CUDA_ARCH_LIST" in ds[0].message


def test_mld711_runtime_image():
    ds = lint("""
        FROM pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime
        RUN git clone https://github.com/NVIDIA/apex /tmp/apex && cd /tmp/apex \\
            && pip install --no-cache-dir --no-build-isolation .
        """, "MLD711")
    assert len(ds) == 1 and "without nvcc" in ds[0].message


@pytest.mark.parametrize("text", [
    # the handed case: arch list set, flash-attn has its own list
    "FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\nENV TORCH_CUDA_ARCH_LIST=\"8.0;9.0\"\n"
    "RUN pip3 install --no-cache-dir --no-build-isolation flash-attn==2.6.3\n",
    "FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\n"
    "RUN pip3 install --no-cache-dir flash-attn==2.6.3\n",
    "FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\n"
    "RUN TORCH_CUDA_ARCH_LIST='8.0' pip3 install git+https://github.com/facebookresearch/detectron2\n",
    "FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\nRUN pip3 install --no-cache-dir xformers==0.0.28\n",
    "FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04\n"
    "RUN pip3 install --no-cache-dir torch-scatter -f https://data.pyg.org/whl/torch-2.4.0+cu124.html\n",
    "FROM python:3.11-slim\nRUN pip install --no-cache-dir git+https://github.com/facebookresearch/detectron2\n",
])
def test_mld711_quiet(text):
    assert lint(text, "MLD711") == []


# ------------------------------------------------------------------------------------ MLD712
def test_mld712_reinstall_on_tf_image():
    ds = lint("FROM tensorflow/tensorflow:2.12.0-gpu\nRUN pip install --no-cache-dir tensorflow==2.15.0\n",
              "MLD712")
    assert [(d.line, d.column) for d in ds] == [(2, 32)]
    assert "2.12.0" in ds[0].message and "2.15.0" in ds[0].message


def test_mld712_cuda_major_on_nvidia_base():
    ds = lint("FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04\n"
              "RUN pip3 install --no-cache-dir \"tensorflow==2.15.0\"\n", "MLD712")
    assert len(ds) == 1 and "CUDA 12.2" in ds[0].message and "CUDA 11.8" in ds[0].message


@pytest.mark.parametrize("text", [
    "FROM tensorflow/tensorflow:2.12.0-gpu\nRUN pip install --no-cache-dir tensorflow\n",
    "FROM tensorflow/tensorflow:2.12.0-gpu\nRUN pip install --no-cache-dir tensorflow==2.12.0\n",
    "FROM tensorflow/tensorflow:2.12.0-gpu\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n"
    "HEALTHCHECK --interval=30s CMD python -c \"import tensorflow as tf; print(tf.__version__)\"\n",
    "FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04\nRUN pip3 install --no-cache-dir tensorflow==2.14.0\n",
    "FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04\n"
    "RUN pip3 install --no-cache-dir \"tensorflow[and-cuda]==2.15.0\"\n",
    "FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip3 install --no-cache-dir tensorflow==2.15.0\n",
])
def test_mld712_quiet(text):
    assert lint(text, "MLD712") == []


# ------------------------------------------------------------------------------------ MLD714
def test_mld714_site_packages():
    ds = lint("""
        FROM python:3.11 AS builder
        RUN pip install --no-cache-dir numpy==1.26.4
        FROM python:3.10-slim
        COPY --from=builder /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.10/site-packages
        """, "MLD714")
    assert [(d.line, d.column) for d in ds] == [(4, 21)]
    assert "Python 3.11" in ds[0].message and "3.10" in ds[0].message
    assert ds[0].severity == "error"


def test_mld714_venv():
    ds = lint("""
        FROM python:3.12-slim AS build
        RUN python -m venv /opt/venv
        FROM python:3.11-slim
        COPY --from=build /opt/venv /opt/venv
        """, "MLD714")
    assert len(ds) == 1 and "/opt/venv" in ds[0].message


@pytest.mark.parametrize("text", [
    "FROM python:3.11 AS b\nFROM python:3.11-slim\nCOPY --from=b /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages\n",
    "FROM python:3 AS b\nFROM python:3.10-slim\nCOPY --from=b /opt/venv /opt/venv\n",
    "FROM python:3.12 AS b\nFROM python:3.10-slim\nCOPY --from=b /root/.local/bin/tool /usr/bin/tool\n",
    "FROM python:3.12 AS b\nFROM python:3.10-slim\nCOPY --from=b /app/dist /app/dist\n",
    "FROM python:3.12 AS b\nFROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nCOPY --from=b /opt/venv /opt/venv\n",
])
def test_mld714_quiet(text):
    assert lint(text, "MLD714") == []
