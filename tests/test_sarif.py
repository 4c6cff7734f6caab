"""SARIF output (and the GitHub and GitLab formats): every SARIF the tests produce passes
../shared/tools/validate-sarif with --source-root; fingerprints follow GitHub's algorithm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CASES, ROOT, SHARED
from mldlint.reporters import Report
from mldlint.reporters.github import escape_data, escape_property
from mldlint.reporters.sarif import line_hashes

VALIDATOR = SHARED / "tools" / "validate-sarif"
VECTORS = SHARED / "testdata" / "github-line-hash-vectors.json"
CASE_FILES = sorted(CASES.glob("*.Dockerfile")) if CASES.exists() else []


def mldlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldlint", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def validate(sarif: Path, root: Path) -> None:
    if not VALIDATOR.exists():
        pytest.skip("../shared/tools/validate-sarif is not there")
    proc = subprocess.run([sys.executable, str(VALIDATOR), "--strict", "--no-multitool",
                           "--source-root", str(root), str(sarif)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def sarif_of(root: Path, *args: str, out: Path) -> dict:
    proc = mldlint("check", "--format", "sarif", "--output", str(out), *args, cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    validate(out, root)
    return json.loads(out.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- fingerprints
def test_line_hashes_match_githubs_vectors():
    if not VECTORS.exists():
        pytest.skip("../shared/testdata is not there")
    for vec in json.loads(VECTORS.read_text())["vectors"]:
        hashes = line_hashes(vec["input"])
        assert [hashes[i + 1] for i in range(len(vec["hashes"]))] == vec["hashes"], vec["input"]


# ---------------------------------------------------------------------- handed cases
@pytest.mark.parametrize("case", CASE_FILES, ids=[p.name for p in CASE_FILES])
def test_sarif_of_each_handed_case_is_valid(case, tmp_path):
    doc = sarif_of(CASES, "--select", "ALL", case.name, out=tmp_path / "out.sarif")
    run = doc["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    rules = run["tool"]["driver"]["rules"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": case.name, "uriBaseId": "%SRCROOT%"}
        assert res["level"] in ("error", "warning", "note")
        assert "primaryLocationLineHash" in res["partialFingerprints"]


# ---------------------------------------------------------------------- a mixed folder
MIXED = {
    "Dockerfile": "FROM python:3.11\nRUN pip install torch\nCMD python app.py\n",
    "svc/api/Dockerfile.gpu": ("FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\r\n"
                               "RUN apt-get update && apt-get install -y python3-pip\r\n"
                               "RUN pip3 install torch==2.3.1\r\n"),
    "svc/bom.Dockerfile": "\ufeffFROM python:3.11-slim\nLABEL note=\"😀 ok\"\nRUN pip install x\n",
    "svc/Containerfile": ("FROM python:3.11-slim\n"
                          "# mldlint: ignore=MLD310 -- cache mount in CI\n"
                          "RUN pip install numpy\n"
                          "# mldlint: ignore=MLD303\n"
                          "RUN echo hi\n"
                          "# mldlint: ignore=MLD999\n"
                          "RUN echo bye\n"),
    "docker/empty.dockerfile": "# nothing here\n",
    "docker/Dockerfile-fragment": "RUN pip install torch\nCOPY . /app  # app\n",
}


@pytest.fixture
def mixed(tmp_path) -> Path:
    root = tmp_path / "repo"
    for rel, text in MIXED.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    for case in CASE_FILES[:8]:
        shutil.copy(case, root / "docker" / case.name)
    return root


def test_sarif_over_a_folder_of_mixed_dockerfiles(mixed, tmp_path):
    doc = sarif_of(mixed, "--select", "ALL", ".", out=tmp_path / "all.sarif")
    run = doc["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]}
    assert {"Dockerfile", "svc/api/Dockerfile.gpu", "svc/bom.Dockerfile",
            "svc/Containerfile", "docker/empty.dockerfile"} <= uris
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert not any("suppressions" in r for r in run["results"])
    # invalid pragma and unused pragma are reported
    by_rule = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
               for r in run["results"]}
    assert ("MLD002", "svc/Containerfile") in by_rule
    assert ("MLD003", "svc/Containerfile") in by_rule
    # fixable findings carry fixes with replacements
    fixed = [r for r in run["results"] if r.get("fixes")]
    assert fixed
    rep = fixed[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert set(rep) == {"deletedRegion", "insertedContent"}


def test_include_suppressed_marks_them_in_source(mixed, tmp_path):
    doc = sarif_of(mixed, "--include-suppressed", "svc/Containerfile", out=tmp_path / "s.sarif")
    sup = [r for r in doc["runs"][0]["results"] if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in sup] == [
        ("MLD310", [{"kind": "inSource", "justification": "cache mount in CI"}])]


def test_sarif_rule_metadata(mixed, tmp_path):
    doc = sarif_of(mixed, "--select", "ALL", "Dockerfile", out=tmp_path / "r.sarif")
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "mldlint" and driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    r310 = rules["MLD310"]
    assert r310["name"] == "pip-no-cache-dir"
    assert r310["defaultConfiguration"]["level"] == "warning"
    assert "packages" in r310["properties"]["tags"]
    assert "```dockerfile" in r310["help"]["markdown"] and r310["help"]["text"]
    for r in rules.values():
        if r["properties"].get("category") == "security":
            assert float(r["properties"]["security-severity"]) > 0
    assert rules["MLD001"]["defaultConfiguration"]["level"] == "error"


def test_severity_override_changes_the_level(mixed, tmp_path):
    (mixed / ".mldlint.yaml").write_text("rules:\n  MLD310: {severity: info}\n")
    doc = sarif_of(mixed, "Dockerfile", out=tmp_path / "o.sarif")
    levels = {r["level"] for r in doc["runs"][0]["results"] if r["ruleId"] == "MLD310"}
    assert levels == {"note"}


def test_empty_run_is_valid(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    doc = sarif_of(tmp_path, "--select", "MLD310", "Dockerfile", out=tmp_path / "e.sarif")
    assert doc["runs"][0]["results"] == []


def test_stdout_is_the_default(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install x\n")
    proc = mldlint("check", "--format", "sarif", "Dockerfile", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["version"] == "2.1.0"


# ---------------------------------------------------------------------- github / gitlab
def test_github_escaping():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_format(tmp_path):
    (tmp_path / "a,b").mkdir()
    (tmp_path / "a,b" / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install x\n")
    proc = mldlint("check", "--format", "github", "--select", "MLD310,MLD311", "a,b",
                   cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert lines[0].startswith("::warning file=a%2Cb/Dockerfile,line=2,col=")
    assert ",title=MLD310 pip-no-cache-dir::" in lines[0]
    assert all(line.startswith("::") for line in lines)


def test_github_severities_and_unreadable(tmp_path):
    from mldlint.engine import Diagnostic
    from mldlint.reporters import github

    def diag(sev):
        return Diagnostic("D", "MLD001", "syntax-error", sev, "meta", "bad:\nthing", (0, 1),
                          1, 1, 1, 2)

    report = Report(files=["D"], diagnostics=[diag("error"), diag("info")],
                    unreadable=[("x:y", "No such file")])
    import io

    buf = io.StringIO()
    github.write(report, buf)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("::error file=D,line=1,col=1,endLine=1,endColumn=2,")
    assert lines[0].endswith("::bad:%0Athing")
    assert lines[1].startswith("::notice ")
    assert lines[2].startswith("::error file=x%3Ay,")


def test_gitlab_format(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN pip install x\nRUN pip install x\nCOPY a /b  # c\n")
    proc = mldlint("check", "--format", "gitlab", "--select", "MLD310,MLD102", "Dockerfile",
                   cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert {d["severity"] for d in doc} == {"minor", "major"}
    first = doc[0]
    assert set(first) >= {"description", "check_name", "fingerprint", "severity", "location"}
    assert first["location"]["path"] == "Dockerfile"
    assert first["location"]["lines"]["begin"] == 2
    assert len({d["fingerprint"] for d in doc}) == len(doc)


def test_output_file_for_json(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install x\n")
    proc = mldlint("check", "--format", "json", "-o", "out.json", "Dockerfile", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["findings"] >= 1


def test_statistics_and_quiet(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN pip install x\nRUN pip install y\n")
    proc = mldlint("check", "--statistics", "--select", "MLD310,MLD311", "Dockerfile",
                   cwd=tmp_path)
    assert proc.stdout.splitlines() == ["2  MLD310  pip-no-cache-dir [*]",
                                        "2  MLD311  pip-unpinned"]
    assert proc.returncode == 1
    proc = mldlint("check", "--statistics", "--format", "json", "--select", "MLD310",
                   "Dockerfile", cwd=tmp_path)
    assert json.loads(proc.stdout) == [
        {"rule": "MLD310", "name": "pip-no-cache-dir", "count": 2, "fixable": 2}]
    proc = mldlint("check", "-q", "--select", "MLD310", "Dockerfile", cwd=tmp_path)
    assert len(proc.stdout.splitlines()) == 2 and "Found" not in proc.stdout
