"""What users see from the structure rules MLD104-MLD108, MLD110-MLD114, MLD116 and MLD117:
exact positions, messages naming the thing, fixes, and silence on the near-misses each rule's
YAML lists as not flagged."""

from __future__ import annotations

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str, also: frozenset = frozenset()):
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"} | also, None)
    assert [d.message for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


def apply(text: str, *fixes) -> str:
    edits = [e for f in fixes for e in f.edits]
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:e.start] + e.text + text[e.end:]
    return text


def fix_all(text: str, rule: str) -> str:
    found = lint(text, rule)
    assert found and all(d.fix is not None and d.fix.applicability == "safe" for d in found)
    return apply(text, *(d.fix for d in found))


# ------------------------------------------------------------------------------ MLD104
def test_mld104_reports_the_first_blank_line_and_removes_all():
    text = ("FROM python:3.11-slim\nRUN apt-get update \\\n\n    && apt-get install -y git \\\n"
            "  \n    && rm -rf /var/lib/apt/lists/*\nCMD [\"python\"]\n")
    (d,) = lint(text, "MLD104")
    assert (d.line, d.column) == (3, 1)
    assert "lines 3, 5 are blank" in d.message and "RUN that starts on line 2" in d.message
    assert d.severity == "warning"
    fixed = apply(text, d.fix)
    assert fixed == ("FROM python:3.11-slim\nRUN apt-get update \\\n"
                     "    && apt-get install -y git \\\n"
                     "    && rm -rf /var/lib/apt/lists/*\nCMD [\"python\"]\n")
    assert lint(fixed, "MLD104") == []


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\n\nRUN echo a\n\nRUN echo b\n",
    "FROM python:3.11-slim\nRUN echo a \\\n    # a comment line\n    && echo b\n",
    "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nRUN <<EOF\nset -e\n\necho hi\nEOF\n",
])
def test_mld104_quiet(text):
    assert lint(text, "MLD104") == []


# ------------------------------------------------------------------------------ MLD105
def test_mld105_cmd_single_quotes():
    text = "FROM python:3.11-slim\nCMD ['python', '/app/app.py']\n"
    (d,) = lint(text, "MLD105")
    assert (d.line, d.column, d.end_column) == (2, 5, 30)
    assert "['python', '/app/app.py']" in d.message and "/bin/sh -c" in d.message
    assert d.severity == "error"
    assert apply(text, d.fix) == 'FROM python:3.11-slim\nCMD ["python", "/app/app.py"]\n'


def test_mld105_shell_replaces_the_syntax_error():
    text = "FROM ubuntu:22.04\nSHELL ['/bin/bash', '-c']\nRUN echo hi\n"
    found = lint(text, "MLD105", frozenset({"MLD001"}))
    assert len(found) == 1 and "SHELL requires" in found[0].message
    everything = lint_source(SourceFile.from_text(text, "Dockerfile"), {"MLD001"}, None)
    assert everything == []
    # a SHELL that is not JSON at all is still MLD001
    bad = lint_source(SourceFile.from_text("FROM a\nSHELL /bin/bash -c\n", "Dockerfile"),
                      {"MLD001"}, None)
    assert [d.rule for d in bad] == ["MLD001"]


def test_mld105_mixed_quotes_healthcheck_and_onbuild():
    text = ("FROM python:3.11-slim\nHEALTHCHECK CMD ['curl', \"-f\", 'http://localhost/']\n"
            "ONBUILD RUN ['make']\n")
    found = lint(text, "MLD105")
    assert [(d.line, d.column) for d in found] == [(2, 17), (3, 13)]
    assert fix_all(text, "MLD105") == (
        'FROM python:3.11-slim\nHEALTHCHECK CMD ["curl", "-f", "http://localhost/"]\n'
        'ONBUILD RUN ["make"]\n')


def test_mld105_no_fix_when_a_string_holds_a_double_quote():
    text = "FROM python:3.11-slim\nCMD ['python', '-c', 'print(\"hi\")']\n"
    (d,) = lint(text, "MLD105")
    assert d.fix is None


@pytest.mark.parametrize("text", [
    'FROM python:3.11-slim\nCMD ["python", "app.py"]\n',
    "FROM python:3.11-slim\nRUN echo '[1, 2]' > /tmp/x.json\n",
    "FROM python:3.11-slim\nCMD python -c 'print([1])'\n",
    "FROM python:3.11-slim\nRUN ['a' 'b']\n",
    "FROM python:3.11-slim\nENV A=['x']\n",
])
def test_mld105_quiet(text):
    assert lint(text, "MLD105") == []


# ------------------------------------------------------------------------------ MLD106
def test_mld106_flags_every_earlier_cmd():
    text = ('FROM python:3.11-slim\nCMD ["a"]\nCMD ["b"]\nHEALTHCHECK NONE\n'
            'ENTRYPOINT ["x"]\nCMD ["c"]\n')
    found = lint(text, "MLD106")
    assert [(d.line, d.column) for d in found] == [(2, 1), (3, 1)]
    assert "the CMD on line 6" in found[0].message


@pytest.mark.parametrize("text", [
    'FROM python:3.11-slim AS a\nCMD ["a"]\nFROM a\nCMD ["b"]\n',
    'FROM python:3.11-slim\nENTRYPOINT ["python"]\nCMD ["app.py"]\nONBUILD CMD ["x"]\n',
])
def test_mld106_quiet(text):
    assert lint(text, "MLD106") == []


# ------------------------------------------------------------------------------ MLD107
def test_mld107_lowercases_the_name_and_every_reference():
    text = ("FROM python:3.11 AS Builder\nRUN echo hi\n"
            "FROM Builder AS Test\n"
            "FROM python:3.11-slim\n"
            "COPY --from=Builder /install /usr/local\n"
            "RUN --mount=type=cache,target=/c,from=BUILDER ls\n")
    found = lint(text, "MLD107")
    assert [(d.line, d.column) for d in found] == [(1, 21), (3, 17)]
    assert "`Builder` is not lower case" in found[0].message
    assert apply(text, found[0].fix) == (
        "FROM python:3.11 AS builder\nRUN echo hi\n"
        "FROM builder AS Test\n"
        "FROM python:3.11-slim\n"
        "COPY --from=builder /install /usr/local\n"
        "RUN --mount=type=cache,target=/c,from=builder ls\n")


def test_mld107_as_casing_duplicates_and_reserved():
    text = ("FROM python:3.11 as build\nFROM node:20 AS build\nFROM alpine:3.20 AS context\n")
    found = lint(text, "MLD107")
    assert [(d.line, d.column) for d in found] == [(1, 18), (2, 17), (3, 21)]
    assert "write `AS`" in found[0].message
    assert apply(text, found[0].fix).startswith("FROM python:3.11 AS build\n")
    assert "already used by the stage on line 1" in found[1].message and found[1].fix is None
    assert "`context` is a reserved name" in found[2].message


def test_mld107_no_reference_before_the_stage_is_touched():
    text = ("FROM python:3.11-slim AS first\nCOPY --from=Tools /a /a\n"
            "FROM alpine:3.20 AS Tools\n")
    (d,) = lint(text, "MLD107")
    assert apply(text, d.fix) == ("FROM python:3.11-slim AS first\nCOPY --from=Tools /a /a\n"
                                  "FROM alpine:3.20 AS tools\n")


@pytest.mark.parametrize("text", [
    "FROM python:3.11 AS build-env_1.2\nFROM python:3.11-slim\n",
    "from python:3.11 as build\n",
    "FROM python:3.11\nFROM python:3.11-slim\n",
])
def test_mld107_quiet(text):
    assert lint(text, "MLD107") == []


# ------------------------------------------------------------------------------ MLD108
def test_mld108_later_own_and_out_of_range():
    text = ("FROM python:3.11-slim AS runtime\n"
            "COPY --from=builder /install /usr/local\n"
            "COPY --from=runtime /a /b\n"
            "COPY --from=5 /a /b\n"
            "FROM python:3.11 AS builder\n")
    found = lint(text, "MLD108")
    assert [(d.line, d.column) for d in found] == [(2, 6), (3, 6), (4, 6)]
    assert "defined later (line 5)" in found[0].message
    assert "stage this COPY is in" in found[1].message
    assert "there is no stage before it" in found[2].message
    assert all(d.severity == "error" for d in found)


@pytest.mark.parametrize("text", [
    "FROM golang:1.22 AS Build\nFROM alpine:3.20\nCOPY --from=build /a /a\n",
    "FROM golang:1.22\nFROM alpine:3.20\nCOPY --from=0 /a /a\n",
    "FROM alpine:3.20\nCOPY --from=busybox /bin/busybox /bin/\n",
    "FROM alpine:3.20\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n",
    "ARG IMG\nFROM alpine:3.20\nARG IMG\nCOPY --from=${IMG} /a /a\n",
    "FROM golang:1.22 AS b\nFROM alpine:3.20\nRUN --mount=from=later,target=/x ls\n",
])
def test_mld108_quiet(text):
    assert lint(text, "MLD108") == []


# ------------------------------------------------------------------------------ MLD110
def test_mld110_label_fix_escapes():
    text = 'FROM python:3.11-slim\nMAINTAINER Jane "JD" Doe <jane@example.com> $HOME\n'
    (d,) = lint(text, "MLD110")
    assert (d.line, d.column, d.end_column) == (2, 1, 11)
    assert "Jane" in d.message
    assert apply(text, d.fix) == ('FROM python:3.11-slim\nLABEL org.opencontainers.image.authors='
                                  '"Jane \\"JD\\" Doe <jane@example.com> \\$HOME"\n')


def test_mld110_quiet_on_labels_and_onbuild():
    text = ('FROM python:3.11-slim\nLABEL maintainer="x"\nONBUILD MAINTAINER x\n')
    assert lint(text, "MLD110") == []


# ------------------------------------------------------------------------------ MLD111
def test_mld111_mixed_case_each_instruction():
    text = "FROM python:3.11-slim\nrun echo hi\nCopy a /a\nONBUILD run echo x\n"
    found = lint(text, "MLD111")
    assert [(d.line, d.column) for d in found] == [(2, 1), (3, 1), (4, 9)]
    assert found[0].severity == "info" and "`run`" in found[0].message
    assert fix_all(text, "MLD111") == ("FROM python:3.11-slim\nRUN echo hi\nCOPY a /a\n"
                                       "ONBUILD RUN echo x\n")


def test_mld111_all_lower_case_one_finding():
    text = "from python:3.11-slim\nrun echo hi\ncmd [\"x\"]\n"
    (d,) = lint(text, "MLD111")
    assert (d.line, d.column) == (1, 1) and "3 in all" in d.message
    assert apply(text, d.fix) == "FROM python:3.11-slim\nRUN echo hi\nCMD [\"x\"]\n"


def test_mld111_quiet():
    assert lint("FROM python:3.11-slim AS b\nRUN echo run\n", "MLD111") == []


# ------------------------------------------------------------------------------ MLD112
def test_mld112_fixes_with_quoting():
    text = ("FROM python:3.11-slim\nENV PATH /opt/venv/bin:$PATH\n"
            "LABEL description Inference image\nENV MSG \"a b\" c\n")
    found = lint(text, "MLD112")
    assert [(d.line, d.column) for d in found] == [(2, 5), (3, 7), (4, 5)]
    assert "`ENV PATH /opt/venv/bin:$PATH`" in found[0].message
    assert found[2].fix is None
    assert apply(text, found[0].fix, found[1].fix) == (
        "FROM python:3.11-slim\nENV PATH=/opt/venv/bin:$PATH\n"
        "LABEL description=\"Inference image\"\nENV MSG \"a b\" c\n")


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\nENV A=1 B=\"x y\"\n",
    "FROM python:3.11-slim\nLABEL a=b\n",
    "FROM python:3.11-slim\nARG A\n",
])
def test_mld112_quiet(text):
    assert lint(text, "MLD112") == []


# ------------------------------------------------------------------------------ MLD113
def test_mld113_relative_workdir_and_copy():
    text = ("FROM python:3.11-slim\nCOPY requirements.txt .\nWORKDIR app\nCOPY . .\n")
    found = lint(text, "MLD113")
    assert [(d.line, d.column) for d in found] == [(2, 23), (3, 9)]
    assert "relative destination `.`" in found[0].message
    assert "python:3.11-slim" in found[0].message
    assert "WORKDIR `app` is relative" in found[1].message


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\nWORKDIR /app\nWORKDIR src\nCOPY . .\n",
    "FROM pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime\nWORKDIR app\nCOPY . .\n",
    "FROM python:3.11-slim AS b\nWORKDIR /app\nFROM b\nWORKDIR src\nCOPY a .\n",
    "FROM myorg/base:1\nWORKDIR app\nCOPY . .\n",
    "FROM python:3.11-slim\nWORKDIR C:\\app\nWORKDIR c:/app\n",
    "FROM python:3.11-slim\nARG DIR\nWORKDIR $DIR\nCOPY a $DIR\n",
    "FROM python:3.11-slim\nCOPY requirements.txt /app/  # dependencies first\n",
    "COPY . .\n",
])
def test_mld113_quiet(text):
    assert lint(text, "MLD113") == []


def test_handed_trailing_comment_copy_has_no_structure_findings():
    text = ("FROM python:3.11-slim\nCOPY requirements.txt /app/  # dependencies first\n"
            "RUN pip install --no-cache-dir -r /app/requirements.txt\n"
            "CMD [\"python\", \"-m\", \"app\"]\n")
    for rule in ("MLD113", "MLD116"):
        assert lint(text, rule) == []


# ------------------------------------------------------------------------------ MLD114
def test_mld114_findings_and_fixes():
    text = ("FROM python:3.11-slim\nEXPOSE 8000/TCP 8080:80 127.0.0.1:9000:9000/udp 70000 http "
            "90-80 53/http\n")
    found = lint(text, "MLD114")
    assert [d.column for d in found] == [8, 17, 25, 49, 55, 60, 66]
    msgs = [d.message for d in found]
    assert "protocol `TCP` is not lower case" in msgs[0]
    assert "host port mapping" in msgs[1] and "IP address" in msgs[2]
    assert "out of range" in msgs[3] and "not a port number" in msgs[4]
    assert "ends before it starts" in msgs[5] and "`http` is not a protocol" in msgs[6]
    assert [d.fix is not None for d in found] == [True, True, True, False, False, False, False]
    assert apply(text, *(d.fix for d in found if d.fix)) == (
        "FROM python:3.11-slim\nEXPOSE 8000/tcp 80 9000/udp 70000 http 90-80 53/http\n")


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\nEXPOSE 80 8000/tcp 5353/udp 9000-9010 132/sctp\n",
    "FROM python:3.11-slim\nARG PORT\nEXPOSE $PORT ${PORT}/tcp\n",
])
def test_mld114_quiet(text):
    assert lint(text, "MLD114") == []


def test_mld114_checks_known_variable_values():
    (d,) = lint("FROM python:3.11-slim\nARG PORT=99999\nEXPOSE $PORT\n", "MLD114")
    assert "99999" in d.message and d.fix is None


# ------------------------------------------------------------------------------ MLD116
def test_mld116_appends_slash():
    text = ("FROM python:3.11-slim\nCOPY a.txt b.txt /app\n"
            "ADD [\"x\", \"y\", \"/srv\"]\n")
    found = lint(text, "MLD116")
    assert [(d.line, d.column) for d in found] == [(2, 18), (3, 16)]
    assert "2 sources (`a.txt`, `b.txt`) to `/app`" in found[0].message
    assert fix_all(text, "MLD116") == ("FROM python:3.11-slim\nCOPY a.txt b.txt /app/\n"
                                       "ADD [\"x\", \"y\", \"/srv/\"]\n")


@pytest.mark.parametrize("text", [
    "FROM python:3.11-slim\nCOPY *.py /srv\n",
    "FROM python:3.11-slim\nCOPY a b /srv/\n",
    "FROM python:3.11-slim\nWORKDIR /app\nCOPY a b .\n",
    "FROM python:3.11-slim\nARG D=/app/\nCOPY a b $D\n",
    "FROM python:3.11-slim\nARG D\nCOPY a b $D\n",
    "FROM python:3.11-slim\nCOPY a b \"${D:-/app}/\"\n",
])
def test_mld116_quiet(text):
    assert lint(text, "MLD116") == []


# ------------------------------------------------------------------------------ MLD117
@pytest.mark.parametrize("trigger", ["ONBUILD COPY . /app/", "FROM python:3.11", "MAINTAINER x"])
def test_mld117_flags_and_replaces_mld001(trigger):
    text = f"FROM python:3.11-slim\nONBUILD {trigger}\n"
    (d,) = lint(text, "MLD117", frozenset({"MLD001"}))
    assert (d.line, d.column) == (2, 9)
    assert f"ONBUILD {trigger.split()[0]}" in d.message and d.severity == "error"
    assert lint_source(SourceFile.from_text(text, "Dockerfile"), {"MLD001"}, None) == []


def test_mld117_quiet():
    assert lint("FROM python:3.11-slim\nONBUILD COPY . /app/\nONBUILD LABEL a=b\n",
                "MLD117") == []


def test_no_rewrite_fix_while_a_trailing_comment_is_there():
    # `ENV A=1 # note` would not parse: MLD102 moves the comment first
    text = "FROM python:3.11-slim\nENV CPU_ONLY 1 # for caffe\nMAINTAINER Jo # jo@example.com\n"
    (env,) = lint(text, "MLD112")
    (maint,) = lint(text, "MLD110")
    assert env.fix is None and maint.fix is None


@pytest.mark.parametrize("base", ["jupyter/base-notebook:latest", "bitnami/python:3.11",
                                  "continuumio/miniconda3:24.1.2-0"])
def test_mld113_quiet_on_bases_whose_workdir_is_not_recorded(base):
    assert lint(f"FROM {base}\nCOPY notebooks/ work/\nWORKDIR src\n", "MLD113") == []


def test_mld111_ignores_unknown_instruction_words():
    assert lint("FROM python:3.11-slim\npip install x\n", "MLD111") == []
