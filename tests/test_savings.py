"""The size estimate of the fixes: what the summary of ``mldlint check`` says the fixes save
(issue "Autofixer", item 5). Figures come from the knowledge base, so the expected numbers are
computed from it here, and checked against the facts they rest on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldlint.cli import cli
from mldlint.engine import lint_source
from mldlint.knowledge import sizes
from mldlint.source import SourceFile

SERVICE = """\
FROM python:3.11
RUN apt-get update && apt-get install -y python3-pip git
RUN pip install torch==2.4.1 transformers numpy
CMD ["python", "/app/serve.py"]
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def check(*args):
    return CliRunner().invoke(cli, ["check", "--isolated", *args])


def fixes_of(text: str, rule: str):
    diags = lint_source(SourceFile.from_bytes(text.encode(), path="Dockerfile"), [rule])
    return [d.fix for d in diags if d.fix is not None]


# ---------------------------------------------------------------------- the knowledge behind it
def test_size_facts_match_their_sources():
    # RULES.md MLD310: "The cache of a CUDA torch install alone is >2 GB"
    assert sizes.wheel_download("torch") > 2 * 10**9
    # ml.yaml sizes_mb.torch_cpu_wheel: [180, 200] (pytorch/pytorch#17621)
    assert sizes.wheel_download("torch", "cpu") == 180 * 10**6
    assert sizes.wheel_download("torch", "rocm6.1") is None
    assert sizes.wheel_download("no-such-package") is None
    assert sizes.wheel_download("Opencv_Python") == sizes.wheel_download("opencv-python")
    # kubeflow/kubeflow#1783: 2.58 GB devel vs 1.15 GB runtime
    assert sizes.devel_over_runtime() == 1_430_000_000
    # apt: python3-pip recommends build-essential (compilers, hundreds of MB); curl little
    assert sizes.apt_recommends(["python3-pip"]) > 300 * 10**6
    assert 0 < sizes.apt_recommends(["curl"]) < 10 * 10**6
    assert sizes.apt_recommends(["make"]) == 0
    assert sizes.apt_recommends(["python3-pip", "build-essential"]) < (
        sizes.apt_recommends(["python3-pip"]) + sizes.apt_recommends(["build-essential"]))
    assert 10 * 10**6 < sizes.apt_lists() < 60 * 10**6


@pytest.mark.parametrize("text, expected", [
    ("~1 GB", 10**9), ("~150 MB", 150 * 10**6), ("~1.1 GB", 1_100_000_000), ("big", None)])
def test_parse_size(text, expected):
    assert sizes.parse_size(text) == expected


@pytest.mark.parametrize("n, shown", [
    (3_081_000_000, "3.1 GB"), (389_600_000, "390 MB"), (18_991_308, "19 MB"),
    (4_600, "5 KB"), (12, "12 bytes")])
def test_human(n, shown):
    assert sizes.human(n) == shown


# ---------------------------------------------------------------------- per fix
def test_pip_cache_saving_sums_known_wheels():
    [fix] = fixes_of(SERVICE, "MLD310")
    expected = sum(sizes.wheel_download(n) for n in ("torch", "transformers", "numpy"))
    assert (fix.saves.kind, fix.saves.bytes) == ("pip cache", expected)


def test_pip_cache_saving_of_cpu_torch():
    text = ("FROM python:3.11-slim\n"
            "RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.4.1\n")
    [fix] = fixes_of(text, "MLD310")
    assert fix.saves.bytes == 180 * 10**6


def test_no_pip_saving_for_unknown_packages_or_requirement_files():
    text = "FROM python:3.11-slim\nRUN pip install -r requirements.txt my-private-lib\n"
    [fix] = fixes_of(text, "MLD310")
    assert fix.saves is None


def test_torch_kept_from_the_base_image_is_not_downloaded():
    text = ("FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\n"
            "RUN pip install torch numpy\n")
    [fix] = fixes_of(text, "MLD310")
    assert fix.saves.bytes == sizes.wheel_download("numpy")


def test_apt_savings_only_on_debian_bases():
    debian = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y python3-pip\n"
    [rec] = fixes_of(debian, "MLD303")
    [lists] = fixes_of(debian, "MLD304")
    assert (rec.saves.kind, rec.saves.bytes) == ("apt recommends",
                                                 sizes.apt_recommends(["python3-pip"]))
    assert (lists.saves.kind, lists.saves.bytes) == ("apt lists", sizes.apt_lists())
    ubuntu = debian.replace("python:3.11-slim", "ubuntu:22.04")
    assert [f.saves for f in fixes_of(ubuntu, "MLD303") + fixes_of(ubuntu, "MLD304")] == \
        [None, None]


def test_stages_outside_the_final_image_save_nothing():
    text = ("FROM python:3.11 AS builder\n"
            "RUN apt-get update && apt-get install -y python3-pip\n"
            "RUN pip install torch==2.3.1\n"
            "FROM python:3.11-slim\n"
            'CMD ["python"]\n')
    fixes = fixes_of(text, "MLD303") + fixes_of(text, "MLD304") + fixes_of(text, "MLD310")
    assert len(fixes) == 3  # still flagged (the stage may be a --target), but not counted
    assert [f.saves for f in fixes] == [None, None, None]
    # a stage the final one is built FROM is the image
    built_from = text.replace("FROM python:3.11-slim\n", "FROM builder\n")
    fixes = fixes_of(built_from, "MLD303") + fixes_of(built_from, "MLD310")
    assert all(f.saves is not None for f in fixes) and len(fixes) == 2


@pytest.mark.parametrize("base", ["python:3.9-slim-bullseye", "debian:11-slim", "node:18-buster",
                                  "debian:trixie", "python:3.12-alpine"])
def test_no_debian_12_figures_for_other_releases(base):
    text = f"FROM {base}\nRUN apt-get update && apt-get install -y python3-pip\n"
    assert [f.saves for f in fixes_of(text, "MLD303") + fixes_of(text, "MLD304")] in (
        [None, None], [])


def test_base_image_savings():
    [slim] = fixes_of("FROM python:3.11\nCMD [\"python\"]\n", "MLD203")
    assert (slim.saves.kind, slim.saves.bytes) == ("slim base", 850 * 10**6)
    devel = 'FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nCMD ["python3", "serve.py"]\n'
    [runtime] = fixes_of(devel, "MLD204")
    assert (runtime.saves.kind, runtime.saves.bytes) == ("runtime base", 1_430_000_000)
    cpu = 'FROM python:3.11-slim\nRUN pip install torch==2.4.1\nCMD ["python", "a.py"]\n'
    [torch] = fixes_of(cpu, "MLD702")
    assert torch.saves.kind == "CPU torch"
    assert torch.saves.bytes == sizes.wheel_download("torch") - 180 * 10**6


# ---------------------------------------------------------------------- what the user sees
def _mb(n: int) -> str:
    return sizes.human(n)


def test_check_summary_states_the_estimate(here):
    Path("Dockerfile").write_text(SERVICE)
    result = check("Dockerfile")
    assert result.exit_code == 1
    pip = sum(sizes.wheel_download(n) for n in ("torch", "transformers", "numpy"))
    rec = sizes.apt_recommends(["python3-pip", "git"])
    lists = sizes.apt_lists()
    last = result.output.splitlines()[-1]
    assert last == (
        f"Estimated image size the fixes save: about {_mb(pip + rec + lists)} with --fix "
        f"(pip cache {_mb(pip)}, apt recommends {_mb(rec)}, apt lists {_mb(lists)}); "
        f"about {_mb(850 * 10**6)} more with --unsafe-fixes (slim base {_mb(850 * 10**6)}).")


def test_fix_reports_what_it_saved_and_the_rest(here):
    Path("Dockerfile").write_text(SERVICE)
    result = check("--fix", "Dockerfile")
    pip = sum(sizes.wheel_download(n) for n in ("torch", "transformers", "numpy"))
    rec = sizes.apt_recommends(["python3-pip", "git"])
    lists = sizes.apt_lists()
    lines = result.output.splitlines()
    assert (f"Fixed 4 problems in 1 file; estimated image size: about "
            f"{_mb(pip + rec + lists)} smaller (pip cache {_mb(pip)}, apt recommends "
            f"{_mb(rec)}, apt lists {_mb(lists)}).") in lines
    # what is left for --unsafe-fixes
    assert lines[-1] == ("Estimated image size the fixes save: about 850 MB with --fix "
                         "--unsafe-fixes (slim base 850 MB).")


def test_diff_states_the_estimate(here):
    Path("Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install numpy\n")
    result = CliRunner().invoke(cli, ["check", "--isolated", "--diff",
                                                      "Dockerfile"])
    assert result.exit_code == 1
    n = _mb(sizes.wheel_download("numpy"))
    assert result.stderr.splitlines()[-1] == (
        f"Would fix 1 problem in 1 file; estimated image size: about {n} smaller "
        f"(pip cache {n}).")


def test_no_estimate_line_without_known_sizes(here):
    Path("Dockerfile").write_text("FROM alpine:3.20\nRUN apk add curl\n")
    result = check("Dockerfile")
    assert "Estimated" not in result.output


def test_json_carries_the_estimates(here):
    Path("Dockerfile").write_text(SERVICE)
    doc = json.loads(check("--format", "json", "Dockerfile").output)
    saves = {r["rule"]: r["fix"]["saves"] for r in doc["results"]
             if r["fix"] and "saves" in r["fix"]}
    assert saves["MLD304"] == {"bytes": sizes.apt_lists(), "kind": "apt lists"}
    assert saves["MLD203"] == {"bytes": 850 * 10**6, "kind": "slim base"}
    # safe: MLD303, MLD304, MLD310, MLD605; unsafe: MLD203 (slim base), MLD501 (a user)
    assert (doc["summary"]["fixable"], doc["summary"]["unsafe_fixable"]) == (4, 2)
    est = doc["summary"]["estimated_savings_bytes"]
    assert est["fixed"] == 0
    assert est["unsafe_fixes"] == 850 * 10**6
    assert est["fix"] == saves["MLD304"]["bytes"] + saves["MLD303"]["bytes"] + \
        saves["MLD310"]["bytes"]
