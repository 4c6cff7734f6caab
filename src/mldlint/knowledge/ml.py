"""Typed access to the ML compatibility tables in ``data/ml.yaml`` and ``data/ml_packages.yaml``.

``ml.yaml`` is a copy of the project's sourced knowledge file (each table names its source and
the snapshot date; rows carry ``confidence: verified|unverified``). Facts marked unverified may
only drive info or warning findings, never errors.

Versions are strings as written (``"2.1.0"``); CUDA versions are ``"major.minor"`` strings
(``"12.1"``); CUDA wheel tags are ``cuXYZ`` strings (``"cu121"``) or ``"cpu"``, ``"rocm6.1"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import load_yaml


@lru_cache(maxsize=1)
def data() -> dict:
    """The parsed ``ml.yaml`` (cached)."""
    return load_yaml("ml.yaml")


@lru_cache(maxsize=1)
def packages() -> dict:
    """The parsed ``ml_packages.yaml`` (cached)."""
    return load_yaml("ml_packages.yaml")


def snapshot() -> str:
    """The snapshot date of the tables (``"2026-09"``)."""
    return str(data().get("snapshot", ""))


# --------------------------------------------------------------------------- CUDA tags
def cuda_of_tag(tag: str) -> str | None:
    """``"cu121"`` -> ``"12.1"``, ``"cu118"`` -> ``"11.8"``, ``"cu102"`` -> ``"10.2"``; else None."""
    m = re.fullmatch(r"cu(\d+)(\d)", tag or "")
    if not m:
        return None
    return f"{int(m.group(1))}.{m.group(2)}"


def tag_of_cuda(cuda: str) -> str:
    """``"12.1"`` (or ``"12.1.1"``) -> ``"cu121"``."""
    parts = cuda.split(".")
    return f"cu{parts[0]}{parts[1] if len(parts) > 1 else '0'}"


_INDEX_RE = re.compile(
    r"^https?://download\.pytorch\.org/whl/(?P<channel>(?:nightly|test)/)?"
    r"(?P<tag>cpu|cu\d{3}|rocm\d+(?:\.\d+)*|xpu)(?P<full>_full)?/?$")
_LOCAL_RE = re.compile(r"\+(?P<tag>cpu|cu\d{3}|rocm\d+(?:\.\d+)*|xpu)$")


@dataclass(frozen=True)
class TorchIndex:
    """A PyTorch package index URL: ``tag`` (``cu121``, ``cpu``...), ``channel`` (``""``,
    ``"nightly"`` or ``"test"``)."""

    url: str
    tag: str
    channel: str


def torch_index(url: str | None) -> TorchIndex | None:
    """Parse a ``download.pytorch.org/whl/<tag>`` index URL; ``None`` for other URLs.
    Source: ml.yaml ``pip_conventions.index_url_pattern``."""
    if not url:
        return None
    m = _INDEX_RE.match(url.strip())
    if not m:
        return None
    return TorchIndex(url, m.group("tag"), (m.group("channel") or "").rstrip("/"))


def local_label(version: str | None) -> str | None:
    """The local version label of a torch version: ``2.1.0+cu121`` -> ``cu121``; else None."""
    if not version:
        return None
    m = _LOCAL_RE.search(version)
    return m.group("tag") if m else None


def public_version(version: str) -> str:
    """``2.1.0+cu121`` -> ``2.1.0``."""
    return version.split("+", 1)[0]


def minor_of(version: str) -> str:
    """``2.1.2`` -> ``2.1``."""
    parts = public_version(version).split(".")
    return ".".join(parts[:2])


# --------------------------------------------------------------------------- torch releases
@dataclass(frozen=True)
class TorchRelease:
    """One PyTorch minor release: its CUDA wheel variants, the CUDA build on PyPI (Linux) and
    the confidence of the row (ml.yaml ``pytorch.releases``; sources in ml-compat.md §1)."""

    minor: str
    variants: tuple[str, ...]
    pypi_default: str
    verified: bool


def torch_release(version: str) -> TorchRelease | None:
    """The release row for a torch version (``2.1.2`` -> the ``2.1`` row), or None."""
    minor = minor_of(version)
    row = data()["pytorch"]["releases"].get(minor)
    if not row:
        return None
    return TorchRelease(minor, tuple(row.get("variants", [])), row.get("pypi_default", ""),
                        row.get("confidence") == "verified")


def index_last_release(tag: str) -> str | None:
    """The last torch release on a CUDA sub-index (``cu121`` -> ``2.5.1``), or None."""
    v = data()["pytorch"]["index_last_release"].get(tag)
    return str(v) if v else None


def torch_published_for(version: str, tag: str) -> bool | None:
    """Whether torch ``version`` was published on the ``tag`` index: True/False, or None
    when the table does not know the release."""
    rel = torch_release(version)
    if rel is None:
        return None
    if tag == "cpu":
        return True
    if tag not in rel.variants:
        return False
    last = index_last_release(tag)
    if last is not None:
        from packaging.version import InvalidVersion, Version

        try:
            return Version(public_version(version)) <= Version(last)
        except InvalidVersion:
            return None
    return True


# --------------------------------------------------------------------------- companions
@dataclass(frozen=True)
class CompanionCheck:
    """Result of comparing a companion library pin with the torch pin.

    ``line_ok``: same release line (torchvision minor = torch minor + 15 for torch 2.x);
    ``exact_ok``: the exact pair table agrees (None when the table does not know the pair);
    ``expected``: the companion version(s) the table pairs with this torch, for messages;
    ``verified``: the exact-pair row is verified.
    """

    line_ok: bool | None
    exact_ok: bool | None
    expected: tuple[str, ...]
    verified: bool


def companion_check(torch_version: str, package: str, version: str) -> CompanionCheck:
    """Compare ``package`` (``torchvision``, ``torchaudio``, ``torchcodec``) at ``version``
    with ``torch_version`` (local labels ignored). Sources: ml.yaml ``pytorch.domain_libs``,
    ``exact_pairs`` (pytorch/vision README, pytorch.org previous versions)."""
    tv = public_version(torch_version)
    cv = public_version(version)
    t_parts = tv.split(".")
    c_parts = cv.split(".")
    line_ok: bool | None = None
    expected: tuple[str, ...] = ()
    try:
        t_major, t_minor = int(t_parts[0]), int(t_parts[1])
        c_major, c_minor = int(c_parts[0]), int(c_parts[1])
    except (ValueError, IndexError):
        return CompanionCheck(None, None, (), False)
    if package == "torchvision":
        if t_major == 2:
            line_ok = (c_major, c_minor) == (0, t_minor + 15)
            expected = (f"0.{t_minor + 15}",)
        elif t_major == 1 and t_minor >= 5:
            line_ok = (c_major, c_minor) == (0, t_minor + 1)
            expected = (f"0.{t_minor + 1}",)
    elif package == "torchaudio":
        if t_major == 2 and t_minor >= 1:
            line_ok = (c_major, c_minor) == (t_major, t_minor)
            expected = (f"{t_major}.{t_minor}",)
    elif package == "torchcodec":
        libs = data()["pytorch"]["domain_libs"]
        row = libs.get(tv) or libs.get(f"{t_major}.{t_minor}")
        if row and row.get("torchcodec"):
            want = str(row["torchcodec"])
            line_ok = cv.split(".")[:2] == want.split(".")[:2]
            expected = (want,)
    exact = data()["pytorch"]["exact_pairs"].get(tv)
    exact_ok = None
    verified = False
    if exact is not None and package in exact and exact[package]:
        allowed = tuple(str(v) for v in exact[package])
        exact_ok = cv in allowed
        expected = allowed
        verified = exact.get("confidence") == "verified"
    return CompanionCheck(line_ok, exact_ok, expected, verified)


# --------------------------------------------------------------------------- TensorFlow
def tf_tested_cuda(version: str) -> str | None:
    """The CUDA version TensorFlow ``version`` was tested with (``2.15.0`` -> ``12.2``), from
    tensorflow/docs tested build configurations; None when unknown."""
    builds = data()["tensorflow"]["tested_gpu_builds"]
    row = builds.get(version)
    if row is None:
        parts = version.split(".")
        for k, v in builds.items():
            if k.split(".")[:2] == parts[:2]:
                row = v
                break
    return str(row["cuda"]) if row else None


# --------------------------------------------------------------------------- images
@dataclass(frozen=True)
class CudaImage:
    """What an image tag says about CUDA.

    Attributes:
        cuda: ``"major.minor"`` CUDA version of the image, or None (e.g. a CPU tag).
        flavor: ``base``, ``runtime``, ``devel``, ``cudnn-runtime``... or None.
        framework: (``"torch"``, ``"2.4.1"``) for pytorch/pytorch and NGC images, or None.
        source: how it was found (``"nvidia/cuda tag"``, ``"pytorch/pytorch tag"``,
            ``"NGC 23.10"``, ``"tensorflow 2.12.0-gpu"``).
        verified: False when the table row is marked unverified.
    """

    cuda: str | None
    flavor: str | None
    framework: tuple[str, str] | None
    source: str
    verified: bool = True


_NV_CUDA_RE = re.compile(
    r"^(?P<cuda>\d+\.\d+(?:\.\d+)?)-(?:(?P<cudnn>cudnn\d*)-)?(?P<flavor>base|runtime|devel)"
    r"(?:-(?P<os>[a-z]+\d+(?:\.\d+)?))?$")
_PT_RE = re.compile(
    r"^(?P<torch>\d+\.\d+\.\d+)-cuda(?P<cuda>\d+\.\d+)-cudnn(?P<cudnn>\d+)-(?P<flavor>runtime|devel)$")
_NGC_RE = re.compile(r"^(?P<yy>\d{2})\.(?P<mm>\d{2})-(?P<rest>.+)$")
_TF_RE = re.compile(r"^(?P<base>\d+\.\d+\.\d+(?:rc\d+)?)(?P<gpu>-gpu)?(?P<jupyter>-jupyter)?$")


def cuda_image(repository: str, tag: str | None) -> CudaImage | None:
    """Parse a GPU image tag (nvidia/cuda, pytorch/pytorch, nvcr.io/nvidia/pytorch and
    tensorflow, tensorflow/tensorflow ``-gpu``); None for other images or unknown tags.
    Tag grammars: ml.yaml ``nvidia_cuda_image``, ``pytorch.docker_hub_image``, ``ngc_pytorch``,
    ``tensorflow.docker_image``."""
    if not tag:
        return None
    if repository == "nvidia/cuda":
        m = _NV_CUDA_RE.match(tag)
        if not m:
            return None
        cuda = ".".join(m.group("cuda").split(".")[:2])
        flavor = m.group("flavor")
        if m.group("cudnn"):
            flavor = f"cudnn-{flavor}"
        return CudaImage(cuda, flavor, None, f"nvidia/cuda:{tag}")
    if repository == "pytorch/pytorch":
        m = _PT_RE.match(tag)
        if not m:
            return None
        return CudaImage(m.group("cuda"), m.group("flavor"), ("torch", m.group("torch")),
                         f"pytorch/pytorch:{tag}")
    if repository in ("nvcr.io/nvidia/pytorch", "nvcr.io/nvidia/tensorflow"):
        m = _NGC_RE.match(tag)
        if not m:
            return None
        month = f"{m.group('yy')}.{m.group('mm')}"
        row = data()["ngc_pytorch"]["releases"].get(month) if repository.endswith("pytorch") else None
        if not row:
            return CudaImage(None, None, None, f"NGC {month}", False)
        cuda = ".".join(str(row["cuda"]).split(".")[:2])
        fw = ("torch", str(row["torch"])) if row.get("torch") else None
        return CudaImage(cuda, None, fw, f"NGC {repository.rsplit('/', 1)[-1]}:{tag}",
                         row.get("confidence") == "verified")
    if repository == "tensorflow/tensorflow":
        m = _TF_RE.match(tag)
        if not m or not m.group("gpu"):
            return None
        cuda = tf_tested_cuda(m.group("base"))
        return CudaImage(cuda, "gpu", ("tensorflow", m.group("base")),
                         f"tensorflow/tensorflow:{tag}")
    return None


# --------------------------------------------------------------------------- package lists
def gpu_only_packages() -> frozenset[str]:
    """Package names (canonical) that only make sense with a GPU (ml_packages.yaml)."""
    return frozenset(packages()["gpu_only"]["names"])


def gpu_only_prefixes() -> tuple[str, ...]:
    """Name prefixes of GPU-only packages (``nvidia-``, ``cupy-cuda``)."""
    return tuple(packages()["gpu_only"]["prefixes"])


def cuda_extension_packages() -> frozenset[str]:
    """Packages that compile CUDA extensions from source when pip-installed
    (ml_packages.yaml ``cuda_extension_builds``)."""
    return frozenset(packages()["cuda_extension_builds"]["names"])
