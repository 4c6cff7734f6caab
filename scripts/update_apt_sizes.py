"""Regenerate ``src/mldlint/knowledge/data/apt_sizes.yaml`` (maintainers only; Debian host).

    python3 scripts/update_apt_sizes.py > src/mldlint/knowledge/data/apt_sizes.yaml

Runs on a Debian machine whose apt knows the release to measure (here Debian 12, bookworm) and
changes nothing on it: every install is simulated (``apt-get -s``) against a status file that
holds only the ``Priority: required`` packages and apt, i.e. what ``debian:<release>-slim``
ships. For each package of ``PACKAGES`` it takes the packages ``apt-get install`` would add with
recommends and without (``--no-install-recommends``); the difference is what the recommends
bring. Sizes are the packages' ``Installed-Size`` (KiB in the index, written here in bytes).
Also records the size of the package index apt keeps in /var/lib/apt/lists on this machine
(Debian's images store it compressed, ``Acquire::GzipIndexes``).
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
import tempfile

PACKAGES = [
    "build-essential", "gcc", "g++", "make", "cmake", "pkg-config", "git", "curl", "wget",
    "ca-certificates", "gnupg", "unzip", "zip", "sudo", "vim", "nano", "htop", "less",
    "openssh-client", "openssh-server", "software-properties-common", "tzdata", "locales",
    "python3", "python3-pip", "python3-dev", "python3-venv", "python3-opencv",
    "ffmpeg", "libgl1", "libgl1-mesa-glx", "libglib2.0-0", "libsm6", "libxext6", "libxrender1",
    "libsndfile1", "sox", "libjpeg-dev", "libpng-dev", "libopencv-dev", "libssl-dev",
    "libffi-dev", "libpq-dev", "postgresql-client", "default-jdk", "default-jre-headless",
    "graphviz", "tesseract-ocr", "poppler-utils", "espeak-ng", "nginx", "supervisor", "tini",
    "git-lfs", "rsync", "jq", "procps", "net-tools", "iputils-ping", "dumb-init", "libgomp1",
    "libopenblas-dev", "libboost-all-dev", "ninja-build", "autoconf", "libtool",
]


def _avail() -> dict[str, dict[str, str]]:
    out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True,
                         check=True).stdout
    pkgs: dict[str, dict[str, str]] = {}
    for para in out.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", para, re.M))
        if "Package" in fields:
            pkgs.setdefault(fields["Package"], fields)
    return pkgs


def _closure(status: str, name: str, recommends: bool) -> set[str] | None:
    cmd = ["apt-get", "-s", "-o", f"Dir::State::status={status}", "install", name]
    if not recommends:
        cmd.insert(-1, "--no-install-recommends")
    run = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "LC_ALL": "C"})
    if run.returncode:
        return None
    return set(re.findall(r"^Inst (\S+) \(", run.stdout, re.M))  # new installs, not upgrades


def main() -> int:
    avail = _avail()
    required = [p for p, f in avail.items() if f.get("Priority") == "required" or p == "apt"]
    with tempfile.NamedTemporaryFile("w", suffix=".status", delete=False) as empty:
        pass
    # the required packages with what they depend on: a minbase system
    sim = subprocess.run(["apt-get", "-s", "-o", f"Dir::State::status={empty.name}",
                          "--no-install-recommends", "install", *required],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "LC_ALL": "C"})
    os.unlink(empty.name)
    base = re.findall(r"^Inst (\S+)", sim.stdout, re.M)
    with tempfile.NamedTemporaryFile("w", suffix=".status", delete=False) as st:
        for p in base:
            f = avail[p]
            st.write(f"Package: {p}\nStatus: install ok installed\nVersion: {f['Version']}\n"
                     f"Architecture: {f.get('Architecture', 'amd64')}\n")
            for key in ("Depends", "Pre-Depends", "Provides", "Essential", "Multi-Arch"):
                if key in f:
                    st.write(f"{key}: {f[key]}\n")
            st.write("\n")
    release = subprocess.run(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"],
                             capture_output=True, text=True).stdout.strip()
    today = datetime.date.today().isoformat()
    print(f"# What apt's recommends add to `apt-get install <package>` on {release}, amd64, over")
    print("# the slim image (Priority: required + apt): the packages and their Installed-Size in")
    print("# bytes. Simulated with apt-get -s against the Debian archive index;")
    print(f"# read {today} by scripts/update_apt_sizes.py. Other releases and Ubuntu differ.")
    print(f"release: '{release}'")
    print(f"read: '{today}'")
    lists = sum(os.path.getsize(os.path.join("/var/lib/apt/lists", n))
                for n in os.listdir("/var/lib/apt/lists")
                if os.path.isfile(os.path.join("/var/lib/apt/lists", n)))
    print("# /var/lib/apt/lists after `apt-get update` (main, compressed as Debian's images keep it)")
    print(f"lists_bytes: {lists}")
    sizes: dict[str, int] = {}
    print("recommends:")
    for name in PACKAGES:
        with_rec = _closure(st.name, name, True)
        without = _closure(st.name, name, False)
        if with_rec is None or without is None:
            print(f"  # {name}: not installable here", file=sys.stderr)
            continue
        extra = sorted(with_rec - without)
        for p in extra:
            sizes[p] = int(avail.get(p, {}).get("Installed-Size", "0")) * 1024
        print(f"  {name}: [{', '.join(extra)}]")
    print("installed_bytes:")
    for p in sorted(sizes):
        print(f"  {p}: {sizes[p]}")
    os.unlink(st.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
