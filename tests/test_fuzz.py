"""Fuzzing: Dockerfiles generated from a grammar, and real Dockerfiles mutated at random.

Properties checked on every input (:func:`check_input`):

* nothing raises out of ``parse`` / ``lint_source`` and no rule crashes (no MLD004 finding);
* every span a rule or the parser reports lies inside the text and is ordered (start <= end),
  a diagnostic's line/column pairs are the positions of its span, diagnostics come sorted, and
  every fix edit of the linted file lies inside the text;
* ``fix_source`` (unsafe fixes included) refuses no fix as invalid, its output re-lints without
  MLD004, fixing the output again changes nothing (a fixed point), and every byte outside the
  applied edits is kept (BOM, CRLF, undecodable bytes included).

The CI budget is small (a few hundred examples in total). For a long local run set
``MLDLINT_FUZZ_EXAMPLES`` (examples per test) or run ``python bench/fuzz.py`` (see the README).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mldlint import fixer
from mldlint.engine import INTERNAL_ERROR, lint_source
from mldlint.fixer import fix_source
from mldlint.source import BinaryFileError, SourceFile
from test_fixer import assert_bytes_outside_edits_kept

#: examples per test (the env var replaces the CI budget for long local runs)
FUZZ_EXAMPLES = int(os.environ.get("MLDLINT_FUZZ_EXAMPLES", "0") or 0)


def fuzz_settings(ci_examples: int) -> settings:
    return settings(max_examples=FUZZ_EXAMPLES or ci_examples, deadline=None,
                    suppress_health_check=list(HealthCheck), database=None,
                    derandomize=not FUZZ_EXAMPLES)


# ---------------------------------------------------------------------- the grammar
KEYWORDS = ["FROM", "RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "ENV", "ARG", "LABEL", "USER",
            "WORKDIR", "EXPOSE", "VOLUME", "HEALTHCHECK", "SHELL", "STOPSIGNAL", "ONBUILD",
            "MAINTAINER", "from", "Run", "BOGUS", "RUN", "RUN", "RUN", "FROM", "COPY", "ENV"]
FLAGS = ["--mount=type=cache,target=/root/.cache/pip", "--mount=type=secret,id=tok",
         "--network=none", "--platform=$BUILDPLATFORM", "--from=builder", "--chown=1000:1000",
         "--chmod=755", "--link", "--", "--=", "--x", "--interval=30s", "--retries=3",
         "--security=insecure", '--mount="type=bind,src=.,dst=/src"', "--from=0"]
WORDS = [
    "python:3.11-slim", "nvidia/cuda:12.1.0-runtime-ubuntu22.04",
    "pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel", "tensorflow/tensorflow:2.15.0-gpu",
    "nvcr.io/nvidia/pytorch:24.01-py3", "ubuntu", "scratch", "AS", "as", "base", "builder",
    "pip", "pip3", "install", "-r", "requirements.txt", "--no-cache-dir", "-U", "torch",
    "torch==2.1.0+cu118", "torchvision==0.16.0", "torchaudio", "tensorflow", "jax[cuda12]",
    "opencv-python", "transformers", "numpy>=1.0", "--index-url",
    "https://download.pytorch.org/whl/cu121", "--extra-index-url", "--user", "-e", ".",
    "apt-get", "apt", "update", "-y", "-qq", "--no-install-recommends", "curl", "wget", "git",
    "tzdata", "rm", "-rf", "/var/lib/apt/lists/*", "conda", "mamba", "activate", "clean", "-a",
    "uv", "--system", "huggingface-cli", "download", "bert-base-uncased", "--revision", "main",
    "nvidia-smi", "python", "-c", "'import torch; torch.cuda.is_available()'", "/app", ".",
    "./", "app.py", "/root/.local", "~/.cache", "CMD", "NONE", "root", "1000:1000", "app",
    "8080", "8080/tcp", "SIGTERM", "A=b", "A=", "=b", "KEY", "value", "CUDA_VISIBLE_DEVICES=0",
    "HF_TOKEN=abc", "PASSWORD", "PATH=/opt/conda/bin:$PATH", "&&", "||", "|", ";", "&", ">",
    ">>", "2>&1", "<", "<<<", "(", ")", "{", "}", "[[", "]]", "$(", "`", "$((1+2))", "$", "${",
    "}", "${A:-x}", "${A:+y}", "${A", "$A", "$1", '"', "'", '"a b"', "'a b'", '"$A"', "\\",
    "\\\\", "\\ ", "#", "# c", "#!", "=", "==", "--", "-", "*", "?", "!", "[", "]", "[]",
    '["python", "app.py"]', '["sh", "-c", "x"]', '["a", 1]', '[1]', '["unterminated', "[",
    "é", "中文", "🙂", "\u00a0", "\u0085", "\u2028", "\u3000", "\t", "\x0b", "\x0c",
    "caf\udce9", "\udcff\udcfe", "sh", "bash", "-lc", "sudo", "env", "timeout", "10", "exit",
    "1", "true", "if", "then", "fi", "for", "do", "done", "case", "esac", "in", "while",
    "export", "cd", "source", "venv/bin/activate", "chown", "-R", "chmod", "777", "useradd",
    "curl", "-f", "http://localhost:8080/health", "-sSL", "https://x.y/install.sh", "echo",
]
HEREDOC_NAMES = ["EOF", "'EOF'", '"EOF"', "-EOF", "END", "E\\OF", "EOF EOF2"]
ESCAPES = ["\\", "`"]


@st.composite
def _line_words(draw, escape: str) -> str:
    words = draw(st.lists(st.sampled_from(WORDS) | st.text(st.characters(exclude_categories=("Cs",)),
                                                                 min_size=1, max_size=6),
                          min_size=0, max_size=10))
    out = []
    for w in words:
        out.append(w)
        sep = draw(st.sampled_from([" ", " ", " ", "  ", "\t", "", f" {escape}\n  ",
                                    f"{escape}\n", f" {escape}  \n", f" {escape}\n# comment\n",
                                    f" {escape}\n\n", f" {escape}\n  # c {escape}\n  "]))
        out.append(sep)
    return "".join(out).rstrip(" ")


@st.composite
def _instruction(draw, escape: str) -> str:
    kw = draw(st.sampled_from(KEYWORDS))
    lead = draw(st.sampled_from(["", "", "", " ", "\t"]))
    flags = draw(st.lists(st.sampled_from(FLAGS), max_size=2))
    body = draw(_line_words(escape))
    parts = [lead + kw] + flags + ([body] if body else [])
    line = " ".join(parts)
    if kw.upper() in ("RUN", "COPY", "ADD") and draw(st.integers(0, 3)) == 0:
        names = draw(st.lists(st.sampled_from(HEREDOC_NAMES), min_size=1, max_size=2))
        line += "".join(f" <<{n}" for n in names)
        for n in names:
            term = n.strip("'\"").lstrip("-").split(" ")[0].replace("\\", "")
            body_lines = draw(st.lists(st.sampled_from(
                ["pip install torch", "apt-get install -y curl", "set -e", "\tindented",
                 "echo $HOME", "EOF2", "", "# comment", "EO", "EOFX", "  EOF"]), max_size=4))
            line += "\n" + "\n".join(body_lines) if body_lines else ""
            if draw(st.integers(0, 5)):  # usually terminated
                line += "\n" + ("\t" if n.startswith("-") and draw(st.booleans()) else "") + term
    return line


@st.composite
def grammar_dockerfiles(draw) -> bytes:
    """A Dockerfile from the grammar, as bytes (BOM, CRLF, escape directive, comments...)."""
    escape = draw(st.sampled_from(ESCAPES))
    lines: list[str] = []
    for d in draw(st.lists(st.sampled_from(
            [f"# escape={escape}", "# syntax=docker/dockerfile:1", "# check=skip=all",
             "#escape = `", "# escape=x", "# directive=unknown"]), max_size=2)):
        lines.append(d)
    if draw(st.booleans()):
        lines.append(f"FROM {draw(st.sampled_from(WORDS[:6]))}")
    for _ in range(draw(st.integers(0, 10))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            lines.append(draw(st.sampled_from(
                ["# comment", "# mldlint: ignore=MLD310", "# mldlint: ignore-file=ALL",
                 "# mldlint: ignore-stage=MLD501 -- why", "# mldlint: bogus",
                 "# hadolint ignore=DL3008,DL3042", "", "   ", escape])))
        else:
            lines.append(draw(_instruction(escape)))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n", escape, escape + "\n"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "mixed"]))
    if newline == "\r\n":
        text = text.replace("\n", "\r\n")
    elif newline == "mixed":
        text = "".join(c + ("\r" if c == "\n" and draw(st.booleans()) else "")
                       for c in text).replace("\n\r", "\r\n")
    bom = b"\xef\xbb\xbf" if draw(st.integers(0, 7)) == 0 else b""
    return bom + text.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------- mutations
TOKENS = [b"\\\n", b"`\n", b"\\", b"\n", b"\r\n", b"\r", b"#", b"# c\n", b"\"", b"'", b"$",
          b"${", b"$(", b"`", b"<<EOF\n", b"<<-EOF", b"\nEOF\n", b"=", b"--", b" ", b"\t",
          b"[", b"]", b"{", b"}", b"&&", b"|", b";", b"\xe9", b"\xff", b"\xc3", b"\xef\xbb\xbf",
          b"\xf0\x9f\x99\x82", b"\xe2\x80\xa8", b"FROM ", b"RUN ", b"ONBUILD ", b"\nRUN <<EOF",
          b"pip install torch ", b"apt-get install -y ", b"USER root\n", b"# escape=`\n",
          b"HEALTHCHECK CMD ", b"COPY --from=0 ", b"ENV A ", b"ARG X=${Y}\n"]


def mutate(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """``data`` after ``rounds`` random mutations (insert a token, delete or duplicate a range,
    swap two lines, truncate, flip newlines)."""
    buf = bytearray(data)
    for _ in range(rounds):
        n = len(buf)
        op = rng.randrange(7)
        pos = rng.randint(0, n)
        if op <= 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and n:
            end = min(n, pos + rng.randint(1, 40))
            del buf[pos:end]
        elif op == 3 and n:
            end = min(n, pos + rng.randint(1, 80))
            buf[end:end] = buf[pos:end]
        elif op == 4:
            lines = bytes(buf).split(b"\n")
            if len(lines) > 1:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                buf = bytearray(b"\n".join(lines))
        elif op == 5 and n:
            del buf[rng.randint(n // 2, n):]
        else:
            buf = bytearray(bytes(buf).replace(b"\n", b"\r\n") if rng.random() < 0.5
                            else bytes(buf).replace(b"\r\n", b"\n"))
    return bytes(buf)


def mutated_dataset_files(files: list[bytes]):
    """A strategy: one of ``files`` mutated (a seed drives the mutations, so hypothesis can
    replay and shrink the seed and the number of rounds)."""
    return st.builds(lambda i, seed, rounds: mutate(files[i], random.Random(seed), rounds),
                     st.integers(0, len(files) - 1), st.integers(0, 2**32 - 1),
                     st.integers(0, 8))


# ---------------------------------------------------------------------- the properties
_ALL: set[str] | None = None


def all_rules() -> set[str]:
    global _ALL
    if _ALL is None:
        from mldlint import registry

        _ALL = set(registry.implemented())
    return _ALL


def _check_raw_spans(source: SourceFile) -> None:
    """Spans of the tree and of every rule's raw violations lie inside the text."""
    from mldlint.model import build_model
    from mldlint.parser import parse
    from mldlint.rules.base import CHECKS, RuleContext

    n = len(source.text)

    def ok(span, what):
        assert 0 <= span[0] <= span[1] <= n, f"{what}: span {tuple(span)} outside 0..{n}"

    df = parse(source)
    prev_end = 0
    for ins in df.instructions:
        ok(ins.span, f"instruction {ins.keyword} line {ins.start_line}")
        ok(ins.keyword_span, f"keyword of {ins.keyword}")
        assert ins.span.start >= prev_end, f"instruction {ins.keyword} overlaps the previous one"
        assert ins.start_line <= ins.end_line
        prev_end = ins.span.end
        for f in ins.flags:
            ok(f.span, f"flag {f.raw}")
        for a in ins.args:
            ok(a.span, f"argument {a.value!r}")
        for h in ins.heredocs:
            ok(h.body_span, f"heredoc {h.name}")
            if h.terminator_span is not None:
                ok(h.terminator_span, f"heredoc terminator {h.name}")
    for e in df.errors:
        ok(e.span, f"parse error {e.message}")
    for c in df.comments:
        ok(c.span, "comment")
    model = build_model(df)
    for rid, fn in sorted(CHECKS.items()):
        ctx = RuleContext(source=source, options={}, context_dir=None)
        for v in fn(df, model, ctx) or ():
            ok(v.span, f"{rid} violation {v.message!r}")
            if v.fix is not None:
                for e in v.fix.edits:
                    if e.path is None:
                        ok((e.start, e.end), f"{rid} fix edit {e!r}")


def _traced_fix(source: SourceFile):
    passes = []
    real = fixer.apply_edits

    def tracing(text, edits, newline="\n"):
        edits = list(edits)
        out = real(text, edits, newline)
        passes.append((text, edits, newline, out))
        return out

    fixer.apply_edits = tracing
    try:
        result = fix_source(source, all_rules(), None, True)
    finally:
        fixer.apply_edits = real
    return result, passes


def check_input(data: bytes, *, fix: bool = True) -> None:
    """Every property of the module docs on one input (raises AssertionError on a violation)."""
    try:
        source = SourceFile.from_bytes(data, path="Dockerfile")
    except BinaryFileError:
        return
    text = source.text
    _check_raw_spans(source)  # runs the parser, model and checks unguarded: a real traceback
    diags = lint_source(source, all_rules())
    crashes = [d.message for d in diags if d.rule == INTERNAL_ERROR]
    assert not crashes, crashes
    for d in diags:
        assert 0 <= d.span[0] <= d.span[1] <= len(text)
        assert (d.line, d.column) == source.position(d.span[0])
        assert (d.end_line, d.end_column) == source.position(d.span[1])
        assert (d.line, d.column) <= (d.end_line, d.end_column)
    assert [d.sort_key for d in diags] == sorted(d.sort_key for d in diags)
    if not fix:
        return

    result, passes = _traced_fix(source)
    invalid = [r for r in result.refused if r[2].startswith("invalid fix")]
    assert not invalid, invalid
    assert not [d for d in result.diagnostics if d.rule == INTERNAL_ERROR]
    assert_bytes_outside_edits_kept(passes)  # pass by pass
    fixed = SourceFile(path=source.path, text=result.text, bom=source.bom,
                       encoding=source.encoding)
    assert fixed.encode().startswith(source.bom)
    if result.text == text:
        assert fixed.encode() == data or source.encoding != "utf-8"
        return
    relinted = lint_source(fixed, all_rules())
    assert not [d.message for d in relinted if d.rule == INTERNAL_ERROR]
    again = fix_source(fixed, all_rules(), None, True)
    if again.guard_tripped is None:
        assert again.text == result.text, ("not a fixed point", result.applied, again.applied)


# ---------------------------------------------------------------------- the tests
@fuzz_settings(150)
@given(grammar_dockerfiles())
def test_grammar_dockerfiles(data):
    check_input(data)


@pytest.fixture(scope="session")
def dataset_sample(dataset_files) -> list[bytes]:
    """A few hundred real Dockerfiles (a fixed sample)."""
    rng = random.Random(1234)
    picked = rng.sample(dataset_files, min(300, len(dataset_files)))
    return [p.read_bytes() for p in picked]


def test_mutated_dataset_files(dataset_sample):
    @fuzz_settings(150)
    @given(st.data())
    def run(data):
        check_input(data.draw(mutated_dataset_files(dataset_sample)))

    run()


@fuzz_settings(60)
@given(st.binary(max_size=300) | st.text(max_size=200).map(
    lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes(data):
    check_input(data, fix=False)
