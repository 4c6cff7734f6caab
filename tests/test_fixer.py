"""The fixer: fix model, fixed-point loop, guards, byte preservation, atomic writing.

Fixes come from fake checks (MLD9xx, not in the catalogue) registered in a private CHECKS dict,
with a fake image model, so these tests do not depend on the real rules. The property tests at
the end run the real rules (whatever has landed) over generated Dockerfiles.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import types

import pytest

from mldlint import engine, fixer
from mldlint.fixer import Edit, Fix, apply_edits, fix_source, unified_diff, write_atomic
from mldlint.rules.base import Violation
from mldlint.source import SourceFile


# ---------------------------------------------------------------------- fake checks
def _find(ctx, word):
    text = ctx.source.text
    for m in re.finditer(re.escape(word), text):
        yield m.start(), m.end()


def fixme(df, model, ctx):  # safe replacement
    for s, e in _find(ctx, "FIXME"):
        yield Violation((s, e), "FIXME left", fix=Fix((Edit(s, e, "DONE"),), "safe", "Resolve"))


def fixme_other(df, model, ctx):  # overlaps fixme's edit
    for s, e in _find(ctx, "FIXME"):
        yield Violation((s, e), "FIXME", fix=Fix((Edit(s, e, "FIXED"),), "safe", "Other"))


def no_cache(df, model, ctx):  # safe insertion, idempotent
    for m in re.finditer(r"pip install(?! --no-cache-dir)", ctx.source.text):
        yield Violation((m.start(), m.end()), "pip install without --no-cache-dir",
                        fix=Fix((Edit(m.end(), m.end(), " --no-cache-dir"),), "safe",
                                "Add --no-cache-dir"))


def add_to_copy(df, model, ctx):  # unsafe
    for m in re.finditer(r"(?m)^ADD ", ctx.source.text):
        yield Violation((m.start(), m.start() + 3), "ADD", fix=Fix(
            (Edit(m.start(), m.start() + 3, "COPY"),), "unsafe", "Use COPY"))


def suggest(df, model, ctx):  # never applied
    for s, e in _find(ctx, "latest"):
        yield Violation((s, e), "latest", fix=Fix((Edit(s, e, "1.0"),), "suggest", "Pin"))


def header(df, model, ctx):  # inserts a whole line (with \n) before each FROM line
    text = ctx.source.text
    for m in re.finditer(r"(?m)^FROM ", text):
        before = text[:m.start()]
        if not before.endswith(("# base\n", "# base\r\n")):
            yield Violation((m.start(), m.start() + 4), "no base comment",
                            fix=Fix((Edit(m.start(), m.start(), "# base\n"),), "safe",
                                    "Add a comment"))


def breaker(df, model, ctx):  # breaks the syntax
    for s, e in _find(ctx, "BREAKME"):
        line_start = ctx.source.text.rfind("\n", 0, s) + 1
        yield Violation((s, e), "break", fix=Fix((Edit(line_start, line_start, "FRM y\n"),),
                                                 "safe", "Break it"))


def ping(df, model, ctx):  # AAA -> BBB
    for s, e in _find(ctx, "AAA"):
        yield Violation((s, e), "AAA", fix=Fix((Edit(s, e, "BBB"),), "safe", "Ping"))


def pong(df, model, ctx):  # BBB -> AAA: with ping, a cycle
    for s, e in _find(ctx, "BBB"):
        yield Violation((s, e), "BBB", fix=Fix((Edit(s, e, "AAA"),), "safe", "Pong"))


def grow(df, model, ctx):  # never converges
    for s, e in _find(ctx, "GROW"):
        yield Violation((s, e), "grow", fix=Fix((Edit(e, e, "!"),), "safe", "Grow"))


def step(df, model, ctx):  # STEP1 -> STEP2 -> STEP3 (two passes)
    for s, e in _find(ctx, "STEP1"):
        yield Violation((s, e), "s1", fix=Fix((Edit(s, e, "STEP2"),), "safe", "Step"))
    for s, e in _find(ctx, "STEP2"):
        yield Violation((s, e), "s2", fix=Fix((Edit(s, e, "STEP3"),), "safe", "Step"))


def ignorefile(df, model, ctx):  # writes .dockerignore in the build context
    if "COPY . ." in ctx.source.text:
        existing = ctx.read_context_file(".dockerignore")
        if existing is None or ".git" not in existing.split():
            end = len(existing or "")
            sep = "" if not existing or existing.endswith("\n") else "\n"
            target = os.path.join(ctx.context_dir or ".", ".dockerignore")
            s = ctx.source.text.index("COPY . .")
            yield Violation((s, s + 8), "no .dockerignore", fix=Fix(
                (Edit(end, end, sep + ".git\n", path=target),), "safe", "Ignore .git"))


def escape(df, model, ctx):  # writes outside the build context
    for s, e in _find(ctx, "ESCAPE"):
        yield Violation((s, e), "escape", fix=Fix(
            (Edit(0, 0, "x\n", path=os.path.join(ctx.context_dir or ".", "..", "outside")),),
            "safe", "Escape"))


def bad_offsets(df, model, ctx):
    for s, e in _find(ctx, "OOPS"):
        yield Violation((s, e), "oops", fix=Fix((Edit(e, s, "x"),), "safe", "Bad offsets"))


FAKES = {
    "MLD901": fixme, "MLD902": no_cache, "MLD903": add_to_copy, "MLD904": suggest,
    "MLD905": header, "MLD906": breaker, "MLD907": ping, "MLD908": pong, "MLD909": grow,
    "MLD910": step, "MLD911": ignorefile, "MLD912": escape, "MLD913": bad_offsets,
    "MLD914": fixme_other,
}
DEFAULT = {"MLD901", "MLD902", "MLD903", "MLD904"}


@pytest.fixture
def fakes(monkeypatch):
    """Only the fake checks run (with a fake image model)."""
    import mldlint.rules  # noqa: F401  (register the real ones first, then hide them)
    from mldlint.rules import base

    monkeypatch.setattr(base, "CHECKS", dict(FAKES))

    class FakeModel:
        stages: list = []

    monkeypatch.setitem(sys.modules, "mldlint.model",
                        types.SimpleNamespace(build_model=lambda df: FakeModel()))


def fx(text, rules=DEFAULT, unsafe=False, context=None):
    return fix_source(SourceFile.from_text(text, "Dockerfile"), set(rules) | {"MLD001"},
                      context, unsafe)


# ---------------------------------------------------------------------- apply_edits
def test_apply_edits_bottom_up_with_insertions_and_deletions():
    text = "0123456789"
    edits = [Edit(8, 10, "X"), Edit(0, 0, "<"), Edit(3, 5, ""), Edit(5, 5, "+")]
    assert apply_edits(text, edits) == "<012+567X"


def test_apply_edits_rejects_overlap_and_out_of_range():
    with pytest.raises(ValueError):
        apply_edits("abcdef", [Edit(1, 3, "x"), Edit(2, 4, "y")])
    with pytest.raises(ValueError):
        apply_edits("abcdef", [Edit(2, 2, "x"), Edit(2, 2, "y")])  # ambiguous order
    with pytest.raises(ValueError):
        apply_edits("abc", [Edit(2, 9, "x")])


def test_inserted_newlines_follow_crlf_but_existing_crlf_is_not_doubled():
    assert apply_edits("a\r\nb\r\n", [Edit(3, 3, "x\ny\r\n")], "\r\n") == "a\r\nx\r\ny\r\nb\r\n"
    assert apply_edits("a\nb\n", [Edit(2, 2, "x\n")], "\n") == "a\nx\nb\n"


def test_unified_diff_format():
    assert unified_diff("Dockerfile", "FROM x\nRUN a\n", "FROM x\nRUN b\n") == (
        "--- Dockerfile\n+++ Dockerfile\n@@ -1,2 +1,2 @@\n FROM x\n-RUN a\n+RUN b\n")
    assert unified_diff("D", "a\nb", "a\nc") == (
        "--- D\n+++ D\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n")
    assert unified_diff("D", "same\n", "same\n") == ""


# ---------------------------------------------------------------------- the loop
def test_safe_fix_exact_text_and_remaining(fakes):
    r = fx("FROM python:latest\nRUN pip install torch && echo FIXME\nADD a b\n")
    assert r.text == ("FROM python:latest\nRUN pip install --no-cache-dir torch && echo DONE\n"
                      "ADD a b\n")
    assert sorted(r.applied) == [("MLD901", "Resolve"), ("MLD902", "Add --no-cache-dir")]
    assert sorted(d.rule for d in r.diagnostics) == ["MLD903", "MLD904"]  # unsafe, suggest
    assert r.guard_tripped is None and r.passes == 1


def test_unsafe_fixes_only_when_asked_and_suggest_never(fakes):
    r = fx("FROM python:latest\nADD a b\n", unsafe=True)
    assert r.text == "FROM python:latest\nCOPY a b\n"
    assert [d.rule for d in r.diagnostics] == ["MLD904"]


def test_fixing_twice_equals_fixing_once(fakes):
    once = fx("FROM x\nRUN pip install a\nRUN pip install b FIXME FIXME\n",
              rules=DEFAULT | {"MLD905"}).text
    assert once == ("# base\nFROM x\nRUN pip install --no-cache-dir a\n"
                    "RUN pip install --no-cache-dir b DONE DONE\n")
    again = fx(once, rules=DEFAULT | {"MLD905"})
    assert again.text == once and again.applied == [] and again.passes == 0


def test_overlapping_fixes_first_by_position_then_next_pass(fakes):
    # MLD901 and MLD914 both replace FIXME: the lower rule ID wins the tie, MLD914's fix is
    # left for the next pass, where FIXME is gone
    r = fx("FROM x\nRUN echo FIXME\n", rules={"MLD901", "MLD914"})
    assert r.text == "FROM x\nRUN echo DONE\n"
    assert r.applied == [("MLD901", "Resolve")]


def test_chained_fixes_need_two_passes(fakes):
    r = fx("FROM x\nRUN echo STEP1\n", rules={"MLD910"})
    assert r.text == "FROM x\nRUN echo STEP3\n" and r.passes == 2


def test_guard_syntax_break_is_refused_and_file_unchanged(fakes):
    text = "FROM x\nRUN echo FIXME BREAKME\n"
    r = fx(text, rules={"MLD901", "MLD906"})
    assert r.text == text
    assert r.applied == []
    assert r.guard_tripped == "fix of MLD906 would introduce a syntax error"
    assert {d.rule for d in r.diagnostics} == {"MLD901", "MLD906"}


def test_guard_cycle_detected(fakes):
    text = "FROM x\nRUN echo AAA\n"
    r = fx(text, rules={"MLD907", "MLD908"})
    assert r.text == text and r.applied == []
    assert r.guard_tripped.startswith("fixes of MLD907, MLD908 loop")


def test_guard_pass_limit(fakes):
    text = "FROM x\nRUN echo GROW\n"
    r = fx(text, rules={"MLD909"})
    assert r.text == text
    assert r.guard_tripped == "no fixed point after 10 passes (still fixing: MLD909)"


def test_invalid_fix_is_refused_not_crashing(fakes):
    r = fx("FROM x\nRUN echo OOPS FIXME\n", rules={"MLD901", "MLD913"})
    assert r.text == "FROM x\nRUN echo OOPS DONE\n"
    assert r.refused and r.refused[0][0] == "MLD913"


# ---------------------------------------------------------------------- bytes
def _fix_bytes(data, rules=DEFAULT | {"MLD905"}):
    src = SourceFile.from_bytes(data, "Dockerfile")
    r = fix_source(src, rules, None, False)
    return src.encode(r.text)


def test_crlf_bom_latin1_survive_byte_for_byte(fakes):
    data = (b"\xef\xbb\xbf# caf\xe9 \t trailing  \r\nFROM x\r\n"
            b"RUN pip install a \\\r\n    b\r\n")
    assert _fix_bytes(data) == (b"\xef\xbb\xbf# caf\xe9 \t trailing  \r\n# base\r\nFROM x\r\n"
                                b"RUN pip install --no-cache-dir a \\\r\n    b\r\n")


def test_lf_file_keeps_lf_and_no_final_newline(fakes):
    assert _fix_bytes(b"FROM x\nRUN pip install a") == (
        b"# base\nFROM x\nRUN pip install --no-cache-dir a")


# ---------------------------------------------------------------------- second files
def test_second_file_written_only_inside_context(fakes, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    r = fx("FROM x\nCOPY . .\n", rules={"MLD911"}, context=str(ctx))
    assert r.text == "FROM x\nCOPY . .\n"
    assert r.applied == [("MLD911", "Ignore .git")]
    [change] = r.other_files
    assert change.path == str(ctx / ".dockerignore")
    assert (change.before, change.after, change.existed) == (b"", b".git\n", False)
    assert not (ctx / ".dockerignore").exists()  # fix_source writes nothing

    (ctx / ".dockerignore").write_bytes(b"*.pt")
    r = fx("FROM x\nCOPY . .\n", rules={"MLD911"}, context=str(ctx))
    assert r.other_files[0].after == b"*.pt\n.git\n"

    r = fx("FROM x\nCOPY . .\n", rules={"MLD911"}, context=None)  # stdin: no context
    assert r.other_files == [] and r.refused[0][0] == "MLD911"

    r = fx("FROM x\nRUN ESCAPE\n", rules={"MLD912"}, context=str(ctx))
    assert r.other_files == [] and "outside the build context" in r.refused[0][2]


# ---------------------------------------------------------------------- writing
def test_write_atomic_keeps_mode_and_skips_identical(tmp_path):
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM x\n")
    os.chmod(p, 0o640)
    os.utime(p, (1_000_000, 1_000_000))
    assert write_atomic(str(p), b"FROM x\n") is False
    assert p.stat().st_mtime == 1_000_000  # not touched
    assert write_atomic(str(p), b"FROM y\n") is True
    assert p.read_bytes() == b"FROM y\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["Dockerfile"]  # no temporary file left


def test_write_atomic_refuses_file_changed_meanwhile(tmp_path):
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM z\n")
    with pytest.raises(OSError):
        write_atomic(str(p), b"FROM y\n", expected=b"FROM x\n")
    assert p.read_bytes() == b"FROM z\n"


def test_write_atomic_through_symlink_keeps_link(tmp_path):
    real = tmp_path / "real.Dockerfile"
    real.write_bytes(b"FROM x\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to(real.name)
    write_atomic(str(link), b"FROM y\n")
    assert link.is_symlink() and real.read_bytes() == b"FROM y\n"


def test_fixer_docs_state_newline_policy():
    assert "\\r\\n" in fixer.__doc__ and "apply time" in fixer.__doc__


# ---------------------------------------------------------------------- properties (real rules)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from oracle import buildkit_view  # noqa: E402

LINES = [
    "FROM python:3.11", "FROM nvidia/cuda:12.1.0-runtime-ubuntu22.04 AS base",
    "FROM pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel", "FROM base", "ARG TORCH=2.1.0",
    "RUN pip install torch numpy", "RUN pip3 install -U transformers==4.40.0",
    "RUN python -m pip install --upgrade pip && pip install -r requirements.txt",
    "RUN pip install \\\n    torch \\\n    torchvision", "RUN apt-get update && apt-get install -y curl git",
    "RUN apt-get install -y \\\n  build-essential \\\n\n  wget", "RUN apt-get -y install vim",
    "RUN apt update && apt install -y python3-pip", "RUN conda install -y numpy",
    "RUN uv pip install torch", "ADD app.py /app/", "ADD . /app", "COPY . .",
    "COPY requirements.txt .", "ENV PYTHONUNBUFFERED=1", "ENV PIP_NO_CACHE_DIR 1",
    "CMD python app.py", "CMD [\"python\", \"serve.py\"]", "ENTRYPOINT python serve.py",
    "# comment", "# caf\udce9 latin-1", "", "   ", "RUN <<EOF\npip install x\nEOF",
    "WORKDIR app", "WORKDIR /app", "USER root", "USER 1000", "EXPOSE 8080",
    "HEALTHCHECK CMD curl -f http://localhost/ || exit 1", "LABEL a=b", "MAINTAINER me",
    "RUN cd /app && make", "RUN echo hi # not a comment", "RUN chown -R app /app",
    "RUN rm -rf /var/lib/apt/lists/*", "SHELL [\"/bin/bash\", \"-c\"]",
    "RUN --mount=type=cache,target=/root/.cache/pip pip install torch",
    "STOPSIGNAL SIGTERM", "VOLUME /data", "ONBUILD RUN pip install x",
]


@st.composite
def dockerfiles(draw):
    body = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    bom = draw(st.booleans())
    text = "\n".join(body) + ("\n" if final else "")
    text = text.replace("\n", newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogateescape")


def _all_rules():
    from mldlint import registry

    return set(registry.implemented())


PROPS = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _traced_fix(data, unsafe=True):
    """Fix ``data`` with the real rules; also return each pass's (before, edits, after)."""
    passes = []
    real = fixer.apply_edits

    def tracing(text, edits, newline="\n"):
        edits = list(edits)
        out = real(text, edits, newline)
        passes.append((text, edits, newline, out))
        return out

    src = SourceFile.from_bytes(data, "Dockerfile")
    fixer.apply_edits = tracing
    try:
        result = fix_source(src, _all_rules(), None, unsafe)
    finally:
        fixer.apply_edits = real
    return src, result, passes


@PROPS
@given(dockerfiles())
def test_property_fix_twice_equals_once(data):
    src, once, _ = _traced_fix(data)
    twice = fix_source(SourceFile(path="Dockerfile", text=once.text, bom=src.bom),
                       _all_rules(), None, True)
    assert twice.text == once.text, (once.applied, twice.applied)


def assert_bytes_outside_edits_kept(passes) -> None:
    """For each fixing pass ``(before, edits, newline, after)``: ``after`` is ``before`` with
    exactly the edits' text put in (newlines adapted), every other character kept."""
    for before, edits, newline, after in passes:
        pos_b = pos_a = 0
        for e in sorted(edits, key=lambda e: (e.start, e.end)):
            keep = before[pos_b:e.start]
            assert after[pos_a:pos_a + len(keep)] == keep
            pos_a += len(keep)
            inserted = fixer.adapt_newlines(e.text, newline)
            assert after[pos_a:pos_a + len(inserted)] == inserted
            pos_a += len(inserted)
            pos_b = e.end
        assert after[pos_a:] == before[pos_b:]


@PROPS
@given(dockerfiles())
def test_property_bytes_outside_edits_unchanged(data):
    src, result, passes = _traced_fix(data)
    assert_bytes_outside_edits_kept(passes)
    out = src.encode(result.text)
    assert out.startswith(src.bom)
    if src.newline == "\r\n" and "\n" not in src.text.replace("\r\n", ""):
        assert "\n" not in result.text.replace("\r\n", "")  # a CRLF file stays CRLF


def buildkit(data: bytes):
    """:func:`oracle.buildkit_view`, or None for text that is not UTF-8 (the Go bridge aborts
    the whole process on lone surrogates instead of raising)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return buildkit_view(data)


@PROPS
@given(dockerfiles())
def test_property_buildkit_still_parses(data):
    before = buildkit(data)
    if not isinstance(before, list):
        return
    src, result, _ = _traced_fix(data)
    after = buildkit(src.encode(result.text))
    assert isinstance(after, list) or after is None, (result.applied, after)
