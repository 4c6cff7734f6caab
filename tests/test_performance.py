"""The speed work keeps behaviour: the start-up cache, the model's indexes and memos, the
requirement fast path. No wall-clock limits here (bench/run.py measures time)."""

from __future__ import annotations

import pickle

import pytest

from mldlint import cache, registry
from mldlint.model import build_model, entrypoint_script
from mldlint.model.packages import parse_requirement
from mldlint.parser import parse
from mldlint.parser.nodes import Span
from mldlint.source import SourceFile


# ---------------------------------------------------------------------- the start-up cache
def test_cached_stores_and_reuses_a_pickle(tmp_path, monkeypatch):
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(tmp_path / "c"))
    data = tmp_path / "data.yaml"
    data.write_text("a: 1\n")
    calls = []

    def load():
        calls.append(1)
        return {"value": data.read_text()}

    assert cache.cached("t", [data], load) == {"value": "a: 1\n"}
    assert cache.cached("t", [data], load) == {"value": "a: 1\n"}
    assert len(calls) == 1
    pickles = list((tmp_path / "c").glob("t-*.pickle"))
    assert len(pickles) == 1
    assert pickle.loads(pickles[0].read_bytes()) == {"value": "a: 1\n"}


def test_cached_rebuilds_when_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(tmp_path / "c"))
    data = tmp_path / "data.yaml"
    data.write_text("a: 1\n")
    assert cache.cached("t", [data], data.read_text) == "a: 1\n"
    data.write_text("a: 22\n")
    assert cache.cached("t", [data], data.read_text) == "a: 22\n"
    assert len(list((tmp_path / "c").glob("t-*.pickle"))) == 1  # the stale one is removed


def test_cached_ignores_a_corrupt_pickle(tmp_path, monkeypatch):
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(tmp_path / "c"))
    data = tmp_path / "data.yaml"
    data.write_text("x")
    cache.cached("t", [data], lambda: 1)
    (pk,) = (tmp_path / "c").glob("t-*.pickle")
    pk.write_bytes(b"not a pickle")
    assert cache.cached("t", [data], lambda: 2) == 2


def test_cache_off_or_unwritable_still_loads(tmp_path, monkeypatch):
    data = tmp_path / "data.yaml"
    data.write_text("x")
    monkeypatch.setenv("MLDLINT_CACHE_DIR", "")
    assert cache.cache_dir() is None
    assert cache.cached("t", [data], lambda: 3) == 3
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert cache.cached("t", [data], lambda: 4) == 4


def test_cached_rule_metadata_equals_a_fresh_load(tmp_path, monkeypatch):
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(tmp_path / "c"))
    folder = registry.rules_dir()
    fresh = registry.load_dir(folder)
    files = sorted(folder.glob("*.yaml"))
    first = cache.cached("rules", files, lambda: registry.load_dir(folder))
    second = cache.cached("rules", files, lambda: pytest.fail("not cached"))
    assert first == fresh and second == fresh
    assert [m.id for m in second.values()] == list(fresh)


# ---------------------------------------------------------------------- model indexes
_MULTI = """\
ARG BASE=python:3.11-slim
FROM ${BASE} AS build
RUN pip install --no-cache-dir build
COPY . /src
RUN python -m build /src
FROM build AS test
RUN pip install pytest
FROM python:3.11-slim
COPY --from=build /src/dist /dist
RUN --mount=from=test,target=/t true
CMD ["python", "-m", "app"]
"""


def _model(text: str):
    df = parse(SourceFile(path="Dockerfile", text=text))
    return df, build_model(df)


def test_step_and_stage_lookups_match_a_linear_scan():
    df, model = _model(_MULTI)
    seen = 0
    for st in model.stages:
        assert model.stage_model_of(st.stage.from_) is st
        assert model.step_of(st.stage.from_) is None
        for step in st.steps:
            assert model.step_of(step.instruction) is step
            assert model.stage_model_of(step.instruction) is st
            seen += 1
    assert seen == 7
    for ins in df.preamble:
        assert model.step_of(ins) is None and model.stage_model_of(ins) is None


def test_leaf_stages_and_ships_are_memoised_and_unchanged():
    _, model = _model(_MULTI)
    build, test, final = model.stages
    assert model.leaf_stages() == [final]
    assert model.leaf_stages() is not model.leaf_stages()  # callers get their own list
    assert model.ships(final) and not model.ships(build) and not model.ships(test)
    assert model.ships(build, "/src/dist/app.whl")
    assert not model.ships(build, "/root/.cache/pip")


# ---------------------------------------------------------------------- memos and fast paths
def test_entrypoint_script_is_parsed_once_per_instruction():
    df, model = _model(_MULTI)
    cmd = model.final.cmd
    text = df.source.text
    assert entrypoint_script(cmd, text) is entrypoint_script(cmd, text)
    assert entrypoint_script(cmd) is entrypoint_script(cmd)
    assert [c.name for c in entrypoint_script(cmd, text).commands] == ["python"]


@pytest.mark.parametrize("word", [
    "torch", "Torch_Vision", "a.b", "x", "a-b_c.d", "torch==2.1.0", "numpy==1.26.4", "x==01.0",
    "torch==2.1.0+cu121", "x[a]", "numpy<2", "pkg>=1,<2", "a==1.*", "a===1", "pkg @ https://x/y",
    "a-", "-a", "a..b==1",
])
def test_requirement_fast_path_agrees_with_packaging(word):
    from packaging.requirements import InvalidRequirement, Requirement

    ref = parse_requirement(word, Span(0, len(word)))
    try:
        req = Requirement(word)
    except InvalidRequirement:
        return  # handled by the fallback, as before
    assert ref is not None
    from mldlint.model.packages import canonical_name

    assert ref.name == canonical_name(req.name)
    assert ref.specifier == str(req.specifier)
    assert ref.extras == tuple(sorted(req.extras))
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        assert ref.version == specs[0].version
    else:
        assert ref.version is None
    assert ref.url == req.url


def test_parallel_chunks_keep_the_input_order(tmp_path):
    from mldlint import cli

    texts = [f"FROM python:3.{i}\nRUN pip install pkg{i}\n" for i in range(40)]
    items = [(SourceFile(path=f"D{i}", text=t), {"MLD310"}, None) for i, t in enumerate(texts)]
    serial = cli._lint_all(items, 1)
    parallel = cli._lint_all(items, 2)
    assert [[(d.path, d.rule, d.span) for d in ds] for ds in parallel] == \
        [[(d.path, d.rule, d.span) for d in ds] for ds in serial]
    assert [ds[0].path for ds in serial] == [f"D{i}" for i in range(40)]


def test_cache_file_writable_by_others_is_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.setenv("MLDLINT_CACHE_DIR", str(tmp_path))
    src = tmp_path / "data.yaml"
    src.write_text("a: 1\n")
    assert cache.cached("t", [src], lambda: {"v": 1}) == {"v": 1}
    (pickled,) = tmp_path.glob("t-*.pickle")
    pickled.chmod(0o666)  # another user could have replaced it
    calls = []
    assert cache.cached("t", [src], lambda: calls.append(1) or {"v": 2}) == {"v": 2}
    assert calls == [1]
