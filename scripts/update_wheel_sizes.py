"""Regenerate ``src/mldlint/knowledge/data/wheel_sizes.yaml`` from PyPI (maintainers only).

    python scripts/update_wheel_sizes.py > src/mldlint/knowledge/data/wheel_sizes.yaml

For each package of ``PACKAGES`` it reads the PyPI Simple API in its JSON form (PEP 691; the
``size`` of each file is PEP 700), takes the newest final release, and the wheel pip would pick
on CPython 3.11, Linux x86_64 (a ``cp311`` or ``abi3`` or ``py3-none-any`` wheel, manylinux
preferred). For packages whose Linux x86_64 wheel pulls CUDA libraries from PyPI (torch's ``nvidia-*``,
``cuda-toolkit[...]`` and triton), their requirements are followed through the core metadata
(PEP 658 ``<wheel URL>.metadata``, else METADATA read out of the wheel by HTTP range requests),
each at the newest final release its specifier allows, and summed as ``cuda_deps_bytes``: what
``pip install torch`` downloads on top of the torch wheel, and so what lands in pip's cache.
Needs ``packaging`` (a dependency of mldlint) and network access to pypi.org and files.pythonhosted.org.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import sys
import urllib.error
import urllib.request
import zipfile

from packaging.requirements import Requirement

ENV = {"python_version": "3.11", "python_full_version": "3.11.7", "platform_system": "Linux",
       "sys_platform": "linux", "platform_machine": "x86_64", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}

PACKAGES = [
    "torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-cpu", "jax", "jaxlib",
    "transformers", "accelerate", "datasets", "tokenizers", "safetensors", "sentence-transformers",
    "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "matplotlib", "pillow",
    "opencv-python", "opencv-python-headless", "opencv-contrib-python",
    "onnx", "onnxruntime", "onnxruntime-gpu", "xgboost", "lightgbm", "catboost",
    "vllm", "triton", "bitsandbytes", "xformers", "spacy", "nltk", "mlflow",
    "fastapi", "uvicorn", "gunicorn", "flask", "jupyterlab", "notebook", "ray",
    "tensorboard", "keras", "sentencepiece", "protobuf", "grpcio", "boto3", "botocore",
]
# whose Linux wheels pull CUDA libraries from PyPI
CUDA_PULLERS = {"torch", "vllm", "onnxruntime-gpu", "xformers"}
ACCEPT = "application/vnd.pypi.simple.v1+json"
FINAL = re.compile(r"^\d+(\.\d+)*$")


def _get(url: str, accept: str | None = None) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - fixed https URLs
        return resp.read()


def _key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _pick(files: list[dict], name: str, version: str) -> dict | None:
    stem = re.sub(r"[-_.]+", "_", name).lower()
    best = None
    for f in files:
        fn = f["filename"]
        if not fn.endswith(".whl") or f.get("yanked"):
            continue
        parts = fn[:-4].split("-")
        if re.sub(r"[-_.]+", "_", parts[0]).lower() != stem or parts[1] != version:
            continue
        py, abi, plat = parts[-3], parts[-2], parts[-1]
        ok_py = "cp311" in py.split(".") or abi == "abi3" or py.startswith("py3") or py == "py2.py3"
        ok_plat = plat == "any" or ("x86_64" in plat and "musllinux" not in plat
                                    and ("manylinux" in plat or plat.startswith("linux")))
        if not (ok_py and ok_plat):
            continue
        rank = (plat != "any", "cp311" in py.split("."), "manylinux" in plat, plat)
        if best is None or rank > best[0]:
            best = (rank, f)
    return best[1] if best else None


def _project(name: str) -> dict:
    return json.loads(_get(f"https://pypi.org/simple/{name}/", ACCEPT))


def wheel(name: str, version: str | None = None) -> tuple[str, dict] | None:
    """(version, file entry) of the wheel pip picks for cp311 Linux x86_64, or None."""
    data = _project(name)
    versions = [v for v in data.get("versions", []) if FINAL.match(v)]
    for v in ([version] if version else sorted(versions, key=_key, reverse=True)):
        f = _pick(data["files"], name, v)
        if f:
            return v, f
    return None


class _RemoteFile(io.RawIOBase):
    """A seekable read-only view of a URL through HTTP range requests (for zipfile)."""

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.pos = url, size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        req = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{end - 1}"})
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - fixed https URLs
            data = resp.read()
        self.pos += len(data)
        return data


def _metadata(f: dict) -> str:
    """The wheel's METADATA: PEP 658 file when served, else read out of the remote zip."""
    try:
        return _get(f["url"] + ".metadata").decode("utf-8", "replace")
    except urllib.error.HTTPError:
        with zipfile.ZipFile(_RemoteFile(f["url"], f["size"])) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            return zf.read(name).decode("utf-8", "replace")


def _requires(meta: str, extras: set[str]) -> list[Requirement]:
    """Requires-Dist of a METADATA text that apply on CPython 3.11, Linux x86_64."""
    out = []
    for line in meta.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        env = dict(ENV)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e})
                                     for e in (extras or {""})):
            out.append(req)
    return out


def cuda_closure(f: dict, seen: set[str] | None = None) -> list[tuple[str, str, int]]:
    """(name, version, bytes) of the CUDA wheels (``nvidia-*``, ``cuda-*``, ``triton``) that
    installing the wheel ``f`` pulls in on Linux x86_64, following their own requirements and
    extras; each the newest final release the specifier allows."""
    seen = set() if seen is None else seen
    out = []
    for req in _requires(_metadata(f), set()):
        out += _follow(req, seen)
    return out


def _follow(req: Requirement, seen: set[str]) -> list[tuple[str, str, int]]:
    name = req.name.lower()
    if not (name.startswith(("nvidia-", "cuda-")) or name == "triton") or name in seen:
        return []
    seen.add(name)
    data = _project(name)
    versions = sorted((v for v in data.get("versions", []) if FINAL.match(v)
                       and req.specifier.contains(v, prereleases=False)), key=_key, reverse=True)
    for v in versions:
        w = _pick(data["files"], name, v)
        if w:
            out = [(name, v, w["size"])]
            for sub in _requires(_metadata(w), set(req.extras)):
                out += _follow(sub, seen)
            return out
    return []


def main() -> int:
    today = datetime.date.today().isoformat()
    print("# Download sizes of the wheels pip picks on CPython 3.11, Linux x86_64 (bytes), newest final")
    print("# release. Source: the PyPI Simple API, JSON form (PEP 691, sizes per PEP 700), and core")
    print(f"# metadata (PEP 658) for pinned dependencies; read {today} by scripts/update_wheel_sizes.py.")
    print("# Used for the savings estimate of the --no-cache-dir fixes (pip's cache keeps every wheel")
    print("# it downloaded). Not a fact about any other platform or Python version.")
    print(f"read: '{today}'")
    print("wheels:")
    for name in PACKAGES:
        got = wheel(name)
        if not got:
            print(f"  # {name}: no cp311 Linux x86_64 wheel", file=sys.stderr)
            continue
        version, f = got
        line = f"  {name}: {{version: '{version}', bytes: {f['size']}"
        deps = cuda_closure(f) if name in CUDA_PULLERS else []
        if deps:
            total = sum(b for _, _, b in deps)
            names = ", ".join(f"{d}=={v}" for d, v, _ in deps)
            line += f", cuda_deps_bytes: {total}, cuda_deps: [{names}]"
        print(line + f", file: {f['filename']}}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
