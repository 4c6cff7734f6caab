"""ML facts of a stage: the CUDA version it provides, the CUDA build of each framework it
installs, and its GPU-intent signals. Computed from the image model and the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..knowledge import ml as kb

if TYPE_CHECKING:  # pragma: no cover
    from . import StageModel, Step
    from .packages import PackageRef, PipInstall

FRAMEWORKS = ("torch", "torchvision", "torchaudio", "torchcodec", "tensorflow", "tensorflow-gpu",
              "tensorflow-cpu", "jax", "jaxlib")


@dataclass(frozen=True)
class CudaProvision:
    """The CUDA a stage's base image provides: ``version`` (``"11.8"``), the image ``flavor``
    (``runtime``, ``cudnn-devel``...), the framework preinstalled (``("torch", "2.4.1")``), a
    human-readable ``source`` (the image) and whether the table row is ``verified``."""

    version: str | None
    flavor: str | None
    framework: tuple[str, str] | None
    source: str
    verified: bool


@dataclass(frozen=True)
class FrameworkInstall:
    """A pip install of an ML framework package and the build it gets.

    Attributes:
        package: canonical name (``torch``, ``torchvision``, ``tensorflow``, ``jax``...).
        ref: the :class:`~mldlint.model.packages.PackageRef` (its span is the package word).
        pip: the pip command; step: the RUN step.
        version: the exact pinned version (with local label), or None.
        build: the wheel build: ``cu121``, ``cpu``, ``rocm6.1``, or None when unknown.
        build_source: how ``build`` was found: ``"local label"``, ``"index"``,
            ``"extra index"``, ``"PyPI default"``, ``"uv --torch-backend"``, or None.
        index: the PyTorch index (``--index-url``/``--extra-index-url``) named, if any.
        via_extra_index: the PyTorch index was given with ``--extra-index-url``.
    """

    package: str
    ref: "PackageRef"
    pip: "PipInstall"
    step: "Step"
    version: str | None
    build: str | None
    build_source: str | None
    index: kb.TorchIndex | None
    via_extra_index: bool


def stage_cuda(sm: "StageModel") -> CudaProvision | None:
    """The CUDA the stage's (root) base image provides, from its tag (nvidia/cuda,
    pytorch/pytorch, NGC month, tensorflow ``-gpu``); None for other bases."""
    base = sm.root_base
    if base is None:
        return None
    img = kb.cuda_image(base.repository, base.tag)
    if img is None:
        return None
    return CudaProvision(img.cuda, img.flavor, img.framework, img.source, img.verified)


def _torch_build(ref: "PackageRef", pip: "PipInstall") -> tuple[str | None, str | None,
                                                                   kb.TorchIndex | None, bool]:
    label = kb.local_label(ref.version)
    idx = kb.torch_index(pip.index_url)
    extra = next((t for t in (kb.torch_index(u) for u in pip.extra_index_urls) if t), None)
    backend = next((o.split("=", 1)[1] for o in pip.options
                    if o.startswith("--torch-backend=")), None)
    if label:
        return label, "local label", idx or extra, extra is not None and idx is None
    if backend and backend not in ("auto",):
        return backend, "uv --torch-backend", None, False
    if idx is not None:
        return idx.tag, "index", idx, False
    if extra is not None:
        # pip takes the highest version from PyPI and the extra index together; an exact pin
        # published on the PyTorch index resolves there (local versions sort higher)
        if ref.version and kb.torch_published_for(ref.version, extra.tag):
            return extra.tag, "extra index", extra, True
        return None, None, extra, True
    if pip.index_url:  # a private mirror: unknown build
        return None, None, None, False
    if ref.version:
        rel = kb.torch_release(ref.version)
        if rel is not None and rel.pypi_default:
            return rel.pypi_default, "PyPI default", None, False
    return None, None, None, False


def framework_installs(sm: "StageModel") -> list[FrameworkInstall]:
    """Framework packages pip-installed in the stage's lineage, oldest first."""
    out = []
    for step in sm.all_runs():
        for pip in step.pip:
            for ref in pip.packages:
                if ref.name not in FRAMEWORKS:
                    continue
                if ref.name in ("torch", "torchvision", "torchaudio", "torchcodec"):
                    build, source, idx, via_extra = _torch_build(ref, pip)
                else:
                    build, source, idx, via_extra = None, None, None, False
                out.append(FrameworkInstall(ref.name, ref, pip, step, ref.version, build, source,
                                            idx, via_extra))
    return out


def gpu_signals(sm: "StageModel") -> list[str]:
    """Reasons to believe the image is meant to run on a GPU (empty when none): a CUDA base,
    NVIDIA_VISIBLE_DEVICES/NVIDIA_DRIVER_CAPABILITIES set, an explicit CUDA build chosen
    (``+cuXYZ``, a cuXYZ index, ``--torch-backend=cuXYZ``), GPU-only packages."""
    signals = []
    cuda = stage_cuda(sm)
    if cuda is not None:  # any GPU image the tag grammars recognise, even a month unknown
        signals.append(f"CUDA base image {cuda.source}")
    for name in ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"):
        if sm.final_env.get(name):
            signals.append(f"{name} is set")
    gpu_only = kb.gpu_only_packages()
    prefixes = kb.gpu_only_prefixes()
    for fw in framework_installs(sm):
        if fw.build and fw.build.startswith("cu") and fw.build_source != "PyPI default":
            signals.append(f"{fw.package} {fw.build} build chosen explicitly ({fw.build_source})")
    for step in sm.all_runs():
        for pip in step.pip:
            for ref in pip.packages:
                if ref.name in gpu_only or ref.name.startswith(prefixes):
                    signals.append(f"GPU-only package {ref.name}")
    return signals
