"""Size facts for the savings estimate of fixes (``mldlint check`` summary).

Every figure is in bytes (decimal units when shown: 1 MB = 10**6 bytes) and is an estimate of
what a fix takes out of the image, meant to err low: packages the tables do not know count as 0,
and a known package counts with one figure (its newest release's, as downloaded) whatever
version a Dockerfile installs.

Sources:
    * ``data/wheel_sizes.yaml``: download sizes of the wheels pip picks on CPython 3.11, Linux
      x86_64, from the PyPI Simple API (PEP 691/700), and the CUDA wheels PyPI torch pulls in
      (regenerate with ``scripts/update_wheel_sizes.py``).
    * ``data/apt_sizes.yaml``: what apt's recommends add to ``apt-get install <pkg>`` on Debian 12
      over the slim image, and the size of the package lists ``apt-get update`` writes, simulated
      with ``apt-get -s`` (``scripts/update_apt_sizes.py``).
    * ``data/ml.yaml`` ``sizes_mb``: torch CPU wheel ~180-200 MB (pytorch/pytorch#17621); CUDA
      ``-devel`` vs ``-runtime`` image 2.58 GB vs 1.15 GB (kubeflow/kubeflow#1783).
    * ``data/base_images.yaml`` ``slim``: full vs slim image sizes from Docker Hub.
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import load_yaml

_UNIT = {"KB": 10**3, "MB": 10**6, "GB": 10**9}


def parse_size(text: str) -> int | None:
    """``"~1.1 GB"`` -> 1_100_000_000 (bytes); ``None`` when ``text`` is not a size."""
    m = re.fullmatch(r"~?\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB)", text.strip())
    if not m:
        return None
    return int(float(m.group(1)) * _UNIT[m.group(2)])


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=1)
def _wheels() -> dict[str, dict]:
    return {_canon(k): v for k, v in load_yaml("wheel_sizes.yaml")["wheels"].items()}


@lru_cache(maxsize=1)
def _apt() -> dict:
    return load_yaml("apt_sizes.yaml")


def wheel_download(name: str, build: str | None = None) -> int | None:
    """Bytes pip downloads for ``pip install <name>`` (the wheel, plus the CUDA wheels it pulls
    from PyPI), or ``None`` when unknown. ``build`` is the torch build the model found
    (``cpu``, ``cu126``, ``rocm6.1``...): ``cpu`` gives the CPU wheel (180 MB, the low end of
    the ml.yaml figure), a ROCm or XPU build ``None`` (no figure)."""
    canon = _canon(name)
    if canon == "torch" and build is not None:
        if build == "cpu":
            return torch_cpu_wheel()
        if not build.startswith("cu"):
            return None
    entry = _wheels().get(canon)
    if entry is None:
        return None
    return int(entry["bytes"]) + int(entry.get("cuda_deps_bytes", 0))


def torch_cpu_wheel() -> int:
    """Download size of the CPU torch wheel (bytes; the low end of ml.yaml ``torch_cpu_wheel``)."""
    from . import ml

    low, _high = ml.data()["sizes_mb"]["torch_cpu_wheel"]
    return int(low) * 10**6


def torch_cuda_over_cpu() -> int:
    """Bytes a CUDA torch from PyPI adds over the CPU build: its CUDA wheels plus the larger
    torch wheel, as downloaded (installed they are larger still)."""
    entry = _wheels()["torch"]
    return int(entry["bytes"]) + int(entry.get("cuda_deps_bytes", 0)) - torch_cpu_wheel()


def devel_over_runtime() -> int:
    """Bytes a CUDA ``-devel`` image adds over its ``-runtime`` sibling (the CUDA 9.0 figure of
    ml.yaml; newer CUDA devel images add more)."""
    from . import ml

    ex = ml.data()["sizes_mb"]["cuda_image_flavor_example"]
    return int(round((float(ex["devel_gb"]) - float(ex["runtime_gb"])) * 10**9))


def apt_recommends(packages: list[str]) -> int:
    """Bytes (installed size) the recommends of ``apt-get install <packages>`` add on Debian 12:
    the union of each known package's recommends closure. Unknown packages add 0."""
    data = _apt()
    rec, sizes = data["recommends"], data["installed_bytes"]
    extra: set[str] = set()
    for name in packages:
        extra.update(rec.get(name.split("=")[0].split(":")[0], ()) or ())
    return sum(int(sizes.get(p, 0)) for p in extra)


def apt_lists() -> int:
    """Bytes ``apt-get update`` leaves in /var/lib/apt/lists on a Debian 12 image (main,
    compressed as Debian's images keep it)."""
    return int(_apt()["lists_bytes"])


def human(n: int) -> str:
    """``3_081_000_000`` -> ``"3.1 GB"``, ``380_000_000`` -> ``"380 MB"`` (decimal units)."""
    if n >= 10**9:
        return f"{n / 10**9:.1f} GB"
    if n >= 10**6:
        return f"{n / 10**6:.0f} MB"
    if n >= 10**3:
        return f"{n / 10**3:.0f} KB"
    return f"{n} bytes"
