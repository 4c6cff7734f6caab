"""What users see from the system-package and base-reference rules of
``mldlint.rules.system_packages``: MLD202, MLD205, MLD206, MLD207, MLD301, MLD302, MLD305,
MLD306, MLD308, MLD314, MLD322, MLD330, MLD331, MLD332, MLD340, MLD341."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.registry import load_all
from mldlint.source import SourceFile

RULES = ("MLD202", "MLD205", "MLD206", "MLD207", "MLD301", "MLD302", "MLD305", "MLD306",
         "MLD308", "MLD314", "MLD322", "MLD330", "MLD331", "MLD332", "MLD340", "MLD341")


def lint(text: str, rule: str, options: dict | None = None):
    text = textwrap.dedent(text)
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"}, None,
                        options={rule: options} if options else None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply(text: str, diags) -> str:
    """Apply the edits of every finding's fix bottom-up (offsets are code points)."""
    text = textwrap.dedent(text)
    edits = sorted((e for d in diags if d.fix for e in d.fix.edits), key=lambda e: -e.start)
    for e in edits:
        text = text[:e.start] + e.text + text[e.end:]
    return text


def _fixed_examples():
    metas = load_all()
    for rid in RULES:
        for n, ex in enumerate(metas[rid].examples or []):
            if ex.get("fixed") is not None:
                yield pytest.param(rid, ex, id=f"{rid}-{n}")


@pytest.mark.parametrize("rule_id,example", list(_fixed_examples()))
def test_yaml_fixed_examples_equal_the_applied_fix(rule_id, example):
    bad, fixed = example["bad"], example["fixed"]
    hits = lint(bad, rule_id, example.get("options"))
    fixes = [d for d in hits if d.fix is not None]
    assert fixes
    # the fixer applies safe fixes, and unsafe ones with --unsafe-fixes
    assert apply(bad, fixes) == fixed
    assert [d for d in lint(fixed, rule_id, example.get("options")) if d.fix] == []


def test_every_rule_has_its_yaml_and_a_check():
    from mldlint.registry import implemented

    metas = load_all()
    assert set(RULES) <= set(implemented(metas))
    assert metas["MLD202"].default_enabled is False
    assert metas["MLD206"].options == {"trusted-registries": []}


# ------------------------------------------------------------------------------------ MLD202
def test_202_points_at_the_image_and_names_it():
    d, = lint("FROM python:3.11-slim\n", "MLD202")
    assert (d.line, d.column, d.end_column) == (1, 6, 22)
    assert "python:3.11-slim@sha256:<digest>" in d.message and d.severity == "info"


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim@sha256:" + "a" * 64 + "\n",
    "FROM scratch\n",
    "FROM python:3.11 AS base\nFROM base\n",
    "ARG IMAGE\nFROM $IMAGE\n",
])
def test_202_quiet(text):
    hits = lint(text, "MLD202")
    assert all(h.line == 1 for h in hits) and (len(hits) <= 1)
    if "sha256" in text or "scratch" in text or "$IMAGE" in text:
        assert hits == []


# ------------------------------------------------------------------------------------ MLD205
def test_205_python_and_debian_with_dates_and_sources():
    d, = lint("FROM python:3.8-slim-buster\n", "MLD205")
    assert (d.line, d.column) == (1, 6)
    assert "Python 3.8 reached its end of life on 2024-10-07" in d.message
    assert "Debian 10 (buster)" in d.message and "2024-06-30" in d.message
    assert "devguide.python.org" in d.message and "as of 2025-11-01" in d.message


@pytest.mark.parametrize("image,what", [
    ("python:3.9", "Python 3.9"),
    ("python:2.7.18-alpine", "Python 2.7"),
    ("ubuntu:20.04", "Ubuntu 20.04"),
    ("ubuntu:focal", "Ubuntu 20.04"),
    ("debian:buster-slim", "Debian 10"),
    ("node:18-alpine", "Node.js 18"),
    ("node:hydrogen", "Node.js 18"),
    ("centos:7", "CentOS 7"),
    ("nvidia/cuda:11.0-base", "two-part CUDA version"),
    ("nvidia/cuda:10.2-cudnn8-devel-ubuntu18.04", "CUDA 10.2"),
    ("nvidia/cuda:11.2.1-runtime-ubuntu22.04", "CUDA 11.2.1"),
    ("nvidia/cuda:11.8.0-runtime-ubuntu20.04", "Ubuntu 20.04"),
    ("buildpack-deps:stretch", "Debian 9"),
])
def test_205_knows_the_table(image, what):
    d, = lint(f"FROM {image}\n", "MLD205")
    assert what in d.message, d.message


@pytest.mark.parametrize("image", [
    "python:3.10-slim", "python:3.12", "python:3", "node:20", "node:lts", "debian:bullseye",
    "ubuntu:22.04", "ubuntu:latest", "ubuntu", "nvidia/cuda:11.8.0-runtime-ubuntu22.04",
    "nvidia/cuda:11.7.1-cudnn8-runtime-ubuntu22.04", "nvidia/cuda:12.4.1-devel-ubuntu22.04",
    "myorg/python:3.6", "ghcr.io/x/node:12",
])
def test_205_quiet_for_supported_or_unknown(image):
    assert lint(f"FROM {image}\n", "MLD205") == []


def test_205_uses_the_snapshot_not_today():
    from mldlint.rules.system_packages import _as_date, _eol_data

    data = _eol_data()
    assert _as_date(data["snapshot"]) == datetime.date(2025, 11, 1)
    # scheduled dates after the snapshot are present but not reported
    assert _as_date(data["products"]["python"]["releases"]["3.10"]) > _as_date(data["snapshot"])


# ------------------------------------------------------------------------------------ MLD206
def test_206_does_nothing_without_configuration():
    assert lint("FROM quay.io/x/y:1\n", "MLD206") == []
    assert lint("FROM quay.io/x/y:1\n", "MLD206", {"trusted-registries": []}) == []


def test_206_flags_images_outside_the_list():
    opts = {"trusted-registries": ["docker.io", "nvcr.io", "ghcr.io/my-org"]}
    text = """\
        FROM python:3.11-slim
        FROM nvcr.io/nvidia/pytorch:24.05-py3
        FROM ghcr.io/my-org/base:1
        FROM ghcr.io/other/base:1
        FROM quay.io/x/y:1
        FROM docker.io/library/ubuntu:22.04
        """
    hits = lint(text, "MLD206", opts)
    assert [(h.line, h.column) for h in hits] == [(4, 6), (5, 6)]
    assert "ghcr.io" in hits[0].message and "docker.io, nvcr.io, ghcr.io/my-org" in hits[0].message
    assert hits[0].severity == "error"


def test_206_docker_hub_entries():
    opts = {"trusted-registries": ["docker.io/library"]}
    hits = lint("FROM python:3.11\nFROM someone/python:3.11\n", "MLD206", opts)
    assert [h.line for h in hits] == [2]
    assert "Docker Hub" in hits[0].message


def test_206_configured_through_the_config_file(tmp_path):
    from click.testing import CliRunner

    from mldlint.cli import cli

    (tmp_path / ".mldlint.yaml").write_text("trusted-registries: [nvcr.io]\n")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    r = CliRunner().invoke(cli, ["check", "--select", "MLD206", str(tmp_path / "Dockerfile")])
    assert r.exit_code == 1 and "MLD206" in r.output


# ------------------------------------------------------------------------------------ MLD207
def test_207_redundant_targetplatform_with_fix():
    text = "FROM --platform=${TARGETPLATFORM} python:3.11-slim AS app\n"
    d, = lint(text, "MLD207")
    assert (d.line, d.column, d.end_column) == (1, 6, 34)
    assert "redundant" in d.message and d.fix.applicability == "safe"
    assert apply(text, [d]) == "FROM python:3.11-slim AS app\n"


def test_207_constant_platform_without_fix():
    d, = lint("FROM --platform=linux/amd64 ubuntu:22.04\n", "MLD207")
    assert "linux/amd64" in d.message and d.fix is None


@pytest.mark.parametrize("text", [
    "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
    "FROM --platform=linux/arm64 alpine:3.20 AS build_arm64\n",
    "FROM --platform=${TARGETOS}/${TARGETARCH} alpine:3.20\n",
    "FROM alpine:3.20\n",
])
def test_207_quiet(text):
    assert lint(text, "MLD207") == []


# ------------------------------------------------------------------------------------ MLD301
def test_301_lone_update_then_install():
    text = """\
        FROM ubuntu:22.04
        RUN apt-get update
        RUN apt-get install -y curl
        """
    d, = lint(text, "MLD301")
    assert (d.line, d.column, d.end_column) == (2, 5, 19)
    assert "line 3" in d.message
    assert d.fix.applicability == "unsafe"
    assert apply(text, [d]) == "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\n"


def test_301_no_fix_when_something_is_between():
    text = """\
        FROM ubuntu:22.04
        RUN apt-get update
        ENV A=1
        RUN apt-get install -y curl
        """
    d, = lint(text, "MLD301")
    assert d.fix is None


@pytest.mark.parametrize("text", [
    "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\n",
    "FROM ubuntu:22.04\nRUN apt-get update\nRUN echo done\n",
    "FROM ubuntu:22.04\nRUN apt-get update && apt-get upgrade -y\nRUN apt-get install -y x\n",
    "FROM ubuntu:22.04\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update\n"
    "RUN apt-get install -y x\n",
])
def test_301_quiet(text):
    assert lint(text, "MLD301") == []


# ------------------------------------------------------------------------------------ MLD302
def test_302_missing_yes_with_fix():
    text = "FROM debian:12\nRUN apt-get update && apt-get install curl\n"
    d, = lint(text, "MLD302")
    assert (d.line, d.column, d.end_column) == (2, 23, 38)
    assert "curl" in d.message and "-y" in d.message
    assert apply(text, [d]) == "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"


@pytest.mark.parametrize("body", [
    "apt-get install -y curl", "apt-get -qq install curl", "apt-get install --yes curl",
    "apt-get install --assume-yes curl", "apt-get -yq install curl",
    "yes | apt-get install curl", "apt-get -o APT::Get::Assume-Yes=true install curl",
    "apt-get install -f", "apt-get remove curl", "apk add curl",
])
def test_302_quiet(body):
    assert lint(f"FROM debian:12\nRUN {body}\n", "MLD302") == []


def test_302_quiet_when_configured_in_apt_conf():
    text = """\
        FROM debian:12
        RUN echo 'APT::Get::Assume-Yes "true";' > /etc/apt/apt.conf.d/90yes
        RUN apt-get install curl
        """
    assert lint(text, "MLD302") == []


# ------------------------------------------------------------------------------------ MLD305
def test_305_lists_unpinned_packages_at_the_first():
    text = "FROM debian:12\nRUN apt-get install -y curl=7.88.1-10 git wget\n"
    d, = lint(text, "MLD305")
    assert (d.line, d.column) == (2, 39)
    assert "git, wget" in d.message and "curl" not in d.message.split("(")[0]
    assert d.severity == "info"


@pytest.mark.parametrize("pkgs", ["curl=7.88.1-10", "./vendor.deb", "/tmp/x.deb",
                                  "git/bookworm-backports", "$PACKAGES"])
def test_305_quiet(pkgs):
    assert lint(f"FROM debian:12\nRUN apt-get install -y {pkgs}\n", "MLD305") == []


# ------------------------------------------------------------------------------------ MLD306
def test_306_apt_becomes_apt_get():
    text = "FROM ubuntu:22.04\nRUN apt update && apt install -y curl\n"
    hits = lint(text, "MLD306")
    assert [(h.line, h.column, h.end_column) for h in hits] == [(2, 5, 8), (2, 19, 22)]
    assert "apt update" in hits[0].message
    assert apply(text, hits) == "FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\n"


def test_306_search_becomes_apt_cache_and_upgrade_has_no_fix():
    text = "FROM ubuntu:22.04\nRUN apt search curl; apt upgrade -y; apt list --installed\n"
    hits = lint(text, "MLD306")
    assert len(hits) == 3
    assert hits[0].fix.edits[0].text == "apt-cache"
    assert hits[1].fix is None and hits[2].fix is None


@pytest.mark.parametrize("body", ["apt-get install -y x", "apt-cache policy x",
                                  "apt-key add k", "apt-mark hold x"])
def test_306_quiet(body):
    assert lint(f"FROM ubuntu:22.04\nRUN {body}\n", "MLD306") == []


def test_306_not_in_cmd():
    assert lint('FROM ubuntu:22.04\nCMD apt list\n', "MLD306") == []


# ------------------------------------------------------------------------------------ MLD308
def test_308_upgrade_and_dist_upgrade():
    text = "FROM ubuntu:22.04\nRUN apt-get update && apt-get upgrade -y && apt-get dist-upgrade -y\n"
    hits = lint(text, "MLD308")
    assert [(h.line, h.column) for h in hits] == [(2, 23), (2, 45)]
    assert "apt-get upgrade" in hits[0].message and hits[0].severity == "info"


def test_308_quiet_for_only_upgrade():
    text = "FROM ubuntu:22.04\nRUN apt-get install -y --only-upgrade openssl\n"
    assert lint(text, "MLD308") == []


# ------------------------------------------------------------------------------------ MLD314
PEP668_BAD = """\
    FROM {base}
    RUN apt-get update && apt-get install -y --no-install-recommends python3-pip \\
        && rm -rf /var/lib/apt/lists/*
    RUN {pip}
    """


@pytest.mark.parametrize("base", ["ubuntu:24.04", "ubuntu:noble", "ubuntu:23.04", "ubuntu",
                                  "debian:12-slim", "debian:bookworm", "debian:trixie-slim",
                                  "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04"])
@pytest.mark.parametrize("pip", ["pip install flask==3.0.3", "pip3 install --user flask",
                                 "python3 -m pip install -U pip", "/usr/bin/pip3 install x"])
def test_314_fires_on_externally_managed_bases(base, pip):
    d, = lint(PEP668_BAD.format(base=base, pip=pip), "MLD314")
    assert d.line == 4 and d.column == 5 and d.severity == "error"
    assert "externally-managed-environment" in d.message and "PEP 668" in d.message


def test_314_message_names_the_packages_and_base():
    d, = lint(PEP668_BAD.format(base="ubuntu:24.04", pip="pip3 install torch==2.5.1"), "MLD314")
    assert "torch" in d.message and "Ubuntu 24.04" in d.message


@pytest.mark.parametrize("base", ["ubuntu:22.04", "debian:11", "debian:bullseye",
                                  "python:3.12-bookworm", "nvidia/cuda:12.4.1-runtime-ubuntu22.04",
                                  "continuumio/miniconda3:24.7.1-0", "myorg/base:1",
                                  "debian:sid-20200224-slim"])
def test_314_quiet_on_other_bases(base):
    assert lint(PEP668_BAD.format(base=base, pip="pip install flask"), "MLD314") == []


@pytest.mark.parametrize("pip", [
    "pip install --break-system-packages flask",
    "PIP_BREAK_SYSTEM_PACKAGES=1 pip install flask",
    "/opt/venv/bin/pip install flask",
    "python3 -m venv /opt/venv && . /opt/venv/bin/activate && pip install flask",
    "pip install --target /app/deps flask",
    "pip install --prefix=/install flask",
    "pip3.12 install flask",
    "uv pip install --system flask",
    "pipx install black",
    "conda run -n base pip install flask",
])
def test_314_quiet_for_venvs_and_overrides(pip):
    assert lint(PEP668_BAD.format(base="ubuntu:24.04", pip=pip), "MLD314") == []


@pytest.mark.parametrize("between", [
    "ENV PIP_BREAK_SYSTEM_PACKAGES=1",
    "ENV PATH=/opt/venv/bin:$PATH",
    "ENV VIRTUAL_ENV=/opt/venv",
    "RUN rm /usr/lib/python3.12/EXTERNALLY-MANAGED",
    "RUN pip config set global.break-system-packages true",
    "RUN python3 -m venv /opt/venv",
    "COPY pip.conf /etc/pip.conf",
])
def test_314_quiet_after_configuration(between):
    text = f"""\
        FROM ubuntu:24.04
        RUN apt-get update && apt-get install -y python3-pip && rm -rf /var/lib/apt/lists/*
        {between}
        RUN pip install flask
        """
    assert lint(text, "MLD314") == []


def test_314_quiet_without_apt_pip():
    text = "FROM ubuntu:24.04\nRUN pip install flask\n"
    assert lint(text, "MLD314") == []


def test_314_follows_stage_inheritance():
    text = """\
        FROM ubuntu:24.04 AS base
        RUN apt-get update && apt-get install -y python3-pip && rm -rf /var/lib/apt/lists/*
        FROM base
        RUN pip3 install flask
        """
    d, = lint(text, "MLD314")
    assert d.line == 4


# ------------------------------------------------------------------------------------ MLD322
def test_322_names_unpinned_conda_packages():
    text = "FROM continuumio/miniconda3:24.7.1-0\nRUN conda install -y -c conda-forge numpy=1.26 scipy pandas\n"
    d, = lint(text, "MLD322")
    assert (d.line, d.column) == (2, 48)
    assert "scipy, pandas" in d.message and "numpy" not in d.message.split("without")[0]


@pytest.mark.parametrize("body", [
    "conda install -y numpy=1.26.4", "conda install -y 'numpy>=1.26'",
    "conda install -y conda-forge::numpy==1.26.4", "conda install -y --file req.txt",
    "conda install -y pip", "conda env create -f env.yml", "conda create -n x numpy",
    "conda install -y /tmp/pkg.tar.bz2",
])
def test_322_quiet(body):
    assert lint(f"FROM continuumio/miniconda3:24.7.1-0\nRUN {body}\n", "MLD322") == []


# ------------------------------------------------------------------------------------ MLD330
def test_330_apk_add_without_no_cache():
    text = "FROM alpine:3.20\nRUN apk add --virtual .deps curl\n"
    d, = lint(text, "MLD330")
    assert (d.line, d.column, d.end_column) == (2, 5, 12)
    assert "curl" in d.message and "/var/cache/apk" in d.message
    assert apply(text, [d]) == "FROM alpine:3.20\nRUN apk add --no-cache --virtual .deps curl\n"


@pytest.mark.parametrize("body", [
    "apk add --no-cache curl",
    "apk add curl && rm -rf /var/cache/apk/*",
    "--mount=type=cache,target=/var/cache/apk apk add curl",
    "apk add --no-network --virtual .rundeps $runDeps",
    "apk add --no-cache --virtual .build gcc && apk add --virtual .rundeps $runDeps",
])
def test_330_quiet(body):
    assert lint(f"FROM alpine:3.20\nRUN {body}\n", "MLD330") == []


def test_330_quiet_in_builder_stages():
    text = """\
        FROM alpine:3.20 AS build
        RUN apk add gcc
        FROM alpine:3.20
        COPY --from=build /etc/os-release /x
        """
    assert lint(text, "MLD330") == []


# ------------------------------------------------------------------------------------ MLD331
def test_331_missing_clean_all_and_missing_yes():
    text = "FROM rockylinux:9\nRUN yum install git\n"
    hits = lint(text, "MLD331")
    assert len(hits) == 2
    yes, clean = sorted(hits, key=lambda h: "clean" in h.message)
    assert "without -y" in yes.message and "git" in yes.message
    assert "yum clean all" in clean.message
    assert (clean.line, clean.column) == (2, 5)
    assert apply(text, hits) == "FROM rockylinux:9\nRUN yum install -y git && yum clean all\n"


@pytest.mark.parametrize("body", [
    "dnf install -y git && dnf clean all",
    "yum -y install git && rm -rf /var/cache/yum",
    "microdnf install git && microdnf clean all",
    "--mount=type=cache,target=/var/cache/dnf dnf install -y git",
    "yes | yum install git && yum clean all",
])
def test_331_quiet(body):
    assert lint(f"FROM rockylinux:9\nRUN {body}\n", "MLD331") == []


# ------------------------------------------------------------------------------------ MLD332
def test_332_npm_ci_without_cache_clean():
    d, = lint("FROM node:22-slim\nRUN npm ci --omit=dev\n", "MLD332")
    assert (d.line, d.column) == (2, 5) and "npm ci" in d.message and "npm cache clean" in d.message


@pytest.mark.parametrize("body", [
    "npm ci && npm cache clean --force",
    "yarn install && yarn cache clean",
    "--mount=type=cache,target=/root/.npm npm ci",
    "npm run build",
    "yarn build",
    "npm ci --cache /tmp/npm && rm -rf /tmp/npm",
])
def test_332_quiet(body):
    assert lint(f"FROM node:22-slim\nRUN {body}\n", "MLD332") == []


def test_332_quiet_in_build_stage():
    text = """\
        FROM node:22 AS build
        RUN npm ci && npm run build
        FROM nginx:1.27
        COPY --from=build /app/dist /usr/share/nginx/html
        """
    assert lint(text, "MLD332") == []


# ------------------------------------------------------------------------------------ MLD340
def test_340_curl_saved_without_fail():
    text = "FROM ubuntu:22.04\nRUN curl -sSL -o /tmp/m.bin https://x/m.bin\n"
    d, = lint(text, "MLD340")
    assert (d.line, d.column, d.end_column) == (2, 5, 9)
    assert "-f" in d.message and "saved to a file" in d.message
    assert apply(text, [d]) == "FROM ubuntu:22.04\nRUN curl -fsSL -o /tmp/m.bin https://x/m.bin\n"


def test_340_curl_piped_gets_f_after_curl():
    text = "FROM ubuntu:22.04\nRUN curl https://x/i.sh | sh\n"
    d, = lint(text, "MLD340")
    assert "piped into `sh`" in d.message
    assert apply(text, [d]) == "FROM ubuntu:22.04\nRUN curl -f https://x/i.sh | sh\n"


@pytest.mark.parametrize("body", [
    "curl -fsSL https://x | sh",
    "curl --fail -o f https://x",
    "curl -s https://x",
    "curl -sI https://x > /tmp/headers",
    "VERSION=$(curl -s https://x/v | tr -d v)",
    "curl -sSL -o f.tgz https://x && sha256sum -c sums",
    "curl -s -w '%{http_code}' -o f https://x",
    "wget -q https://x/f", "wget -nv https://x/f", "wget --progress=dot:giga https://x/f",
    'wget -O php.tar.xz.asc "$PHP_ASC_URL"',
    "wget https://x/f.tar.gz.sha256",
])
def test_340_quiet(body):
    assert lint(f"FROM ubuntu:22.04\nRUN {body}\n", "MLD340") == []


def test_340_wget_fix_only_for_gnu_wget():
    text = """\
        FROM debian:12
        RUN apt-get update && apt-get install -y wget && rm -rf /var/lib/apt/lists/*
        RUN wget https://x/w.tgz
        """
    d, = lint(text, "MLD340")
    assert d.line == 3 and "--progress=dot:giga" in d.message
    assert d.fix is not None and d.fix.edits[0].text == " --progress=dot:giga"
    # unknown base: reported, no fix (busybox wget would reject the option)
    d, = lint("FROM myorg/base:1\nRUN wget https://x/w.tgz\n", "MLD340")
    assert d.fix is None
    # alpine's busybox wget: quiet
    assert lint("FROM alpine:3.20\nRUN wget https://x/w.tgz\n", "MLD340") == []


def test_340_both_downloaders_only_when_both_used():
    installed = """\
        FROM ubuntu:22.04
        RUN apt-get update && apt-get install -y curl wget && rm -rf /var/lib/apt/lists/*
        """
    assert lint(installed, "MLD340") == []
    used = installed + "RUN wget -q https://x/a && curl -fsSLO https://x/b\n"
    d, = lint(used, "MLD340")
    assert (d.line, d.column) == (2, 47) and "both curl and wget" in d.message


# ------------------------------------------------------------------------------------ MLD341
def test_341_pipe_without_pipefail_gets_a_shell_fix():
    text = """\
        FROM ubuntu:22.04
        RUN curl -fsSL https://x/t.tgz | tar -xz -C /opt
        RUN wget -qO- https://x/i.sh | sh
        """
    hits = lint(text, "MLD341")
    assert [(h.line, h.column) for h in hits] == [(2, 5), (3, 5)]
    assert "`curl` feeds a pipe into `tar`" in hits[0].message
    assert hits[0].fix.applicability == "safe" and hits[1].fix is None
    assert apply(text, hits).splitlines()[1] == 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'


def test_341_alpine_gets_only_a_suggestion():
    d, = lint("FROM alpine:3.20\nRUN wget -qO- https://x/i.sh | sh\n", "MLD341")
    assert d.fix.applicability == "suggest"
    assert d.fix.edits[0].text == "set -o pipefail && "


@pytest.mark.parametrize("text", [
    "FROM ubuntu:22.04\nRUN set -o pipefail && curl -fsSL https://x | sh\n",
    "FROM ubuntu:22.04\nRUN set -euxo pipefail; curl -fsSL https://x | sh\n",
    'FROM ubuntu:22.04\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl https://x | sh\n',
    'FROM ubuntu:22.04 AS a\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\n'
    'FROM a\nRUN curl https://x | sh\n',
    "FROM ubuntu:22.04\nRUN bash -o pipefail -c 'curl https://x | sh'\n",
    "FROM ubuntu:22.04\nRUN echo 'deb http://x main' | tee /etc/apt/sources.list.d/x.list\n",
    "FROM ubuntu:22.04\nRUN yes | apt-get install x\n",
    "FROM ubuntu:22.04\nRUN gpg --version | grep -q 'GnuPG'\n",
    "FROM ubuntu:22.04\nRUN dpkg -l | awk '{print $2}' | sort\n",
    "FROM ubuntu:22.04\nRUN X=$(curl -s https://x | jq -r .v)\n",
    'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nSHELL ["powershell", "-Command"]\n'
    "RUN iwr https://x | iex\n",
])
def test_341_quiet(text):
    assert lint(text, "MLD341") == []


def test_341_build_piped_into_tee():
    d, = lint("FROM python:3.11-slim\nRUN python setup.py build 2>&1 | tee /tmp/log\n", "MLD341")
    assert "`python` feeds a pipe into `tee`" in d.message
