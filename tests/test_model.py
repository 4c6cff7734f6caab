"""The image model: what rules learn about each stage (base image, scope, user, installs)."""

from __future__ import annotations

from mldlint.model import build_model
from mldlint.parser import parse
from mldlint.source import SourceFile


def _model(text: str):
    df = parse(SourceFile.from_text(text, "Dockerfile"))
    return df, build_model(df)


def _pkgs(model, stage=-1):
    return [(r.name, r.version) for s in model.stages[stage].runs() for p in s.pip
            for r in p.packages]


def test_base_image_resolved_through_global_arg_default():
    _, m = _model("ARG CUDA=12.1.1\nFROM nvidia/cuda:${CUDA}-runtime-ubuntu22.04\n")
    st = m.final
    assert st.base.repository == "nvidia/cuda"
    assert st.base.tag == "12.1.1-runtime-ubuntu22.04"
    assert st.base_complete
    assert (st.cuda.version, st.cuda.flavor) == ("12.1", "runtime")


def test_unresolvable_base_is_marked_incomplete():
    _, m = _model("ARG TAG\nFROM python:${TAG}\n")
    assert m.final.base_complete is False


def test_stage_inheritance_carries_env_user_and_facts():
    _, m = _model(
        "FROM python:3.11-slim AS base\nENV APP=/srv\nUSER 1000\n"
        "FROM base AS final\nRUN echo $APP\n")
    base, final = m.stages
    assert final.parent is base
    assert final.root_base.repository == "python"
    assert final.user == "1000"
    assert final.steps[0].env["APP"] == "/srv"
    assert final.facts.family == "python" and final.has_program("curl") is False


def test_global_arg_is_visible_only_after_redeclaration():
    _, m = _model("ARG V=1\nFROM alpine:3.20\nRUN echo $V\nARG V\nRUN echo $V\n")
    first, _, second = m.final.steps
    assert "V" not in first.env
    assert second.env["V"] == "1"
    assert "V" in second.args_in_scope


def test_user_workdir_and_shell():
    _, m = _model('FROM ubuntu:22.04\nWORKDIR /app\nWORKDIR src\nUSER app\nSHELL ["/bin/bash", "-c"]\n')
    st = m.final
    assert st.workdir == "/app/src"
    assert st.user == "app"
    assert st.shell == ["/bin/bash", "-c"]


def test_pip_installs_in_every_spelling():
    text = (
        "FROM python:3.11-slim\n"
        "RUN pip install a==1\n"
        "RUN pip3 install 'b>=2'\n"
        "RUN python -m pip install --no-cache-dir c==3\n"
        "RUN /opt/venv/bin/pip install d~=4.0\n"
        "RUN pip3.11 install -U e\n"
        "RUN uv pip install f==6\n"
        "RUN sudo -E pip install g==7 && conda run -n x pip install h==8\n"
        "RUN sh -c 'pip install i==9'\n"
    )
    _, m = _model(text)
    assert _pkgs(m) == [("a", "1"), ("b", None), ("c", "3"), ("d", None), ("e", None),
                        ("f", "6"), ("g", "7"), ("h", "8"), ("i", "9")]
    kinds = [p.kind for s in m.final.runs() for p in s.pip]
    assert kinds.count("uv") == 1


def test_pip_options_index_urls_files_and_local_paths():
    text = ("FROM python:3.11-slim\n"
            "RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt -e . "
            "--index-url https://download.pytorch.org/whl/cu121 "
            "--extra-index-url https://pypi.org/simple torch==2.3.1+cu121 ./pkg\n")
    _, m = _model(text)
    (pip,) = [p for s in m.final.runs() for p in s.pip]
    assert pip.requirement_files == ["requirements.txt"]
    assert pip.constraint_files == ["constraints.txt"]
    assert pip.local == [".", "./pkg"]
    assert pip.index_url == "https://download.pytorch.org/whl/cu121"
    assert pip.extra_index_urls == ["https://pypi.org/simple"]
    assert pip.no_cache_dir
    (torch,) = pip.packages
    assert (torch.name, torch.version) == ("torch", "2.3.1+cu121")


def test_pip_index_from_env_and_versions_from_args():
    text = ("FROM python:3.11-slim\nARG TORCH=2.4.1\n"
            "ENV PIP_INDEX_URL=https://download.pytorch.org/whl/cpu\n"
            'RUN pip install "torch==${TORCH}"\n')
    _, m = _model(text)
    (pip,) = [p for s in m.final.runs() for p in s.pip]
    assert pip.index_url == "https://download.pytorch.org/whl/cpu"
    assert [(r.name, r.version) for r in pip.packages] == [("torch", "2.4.1")]
    (fw,) = m.final.frameworks()
    assert (fw.build, fw.build_source) == ("cpu", "index")


def test_framework_build_from_pypi_default_and_local_label():
    _, m = _model("FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\n"
                  "RUN pip install torch==2.2.0 torchvision==0.17.0+cu118\n")
    builds = [(f.package, f.build, f.build_source) for f in m.final.frameworks()]
    assert builds == [("torch", "cu121", "PyPI default"), ("torchvision", "cu118", "local label")]


def test_apt_installs_with_options_and_pins():
    _, m = _model("FROM debian:12-slim\n"
                  "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get -y install "
                  "--no-install-recommends curl=7.88.1-10 git\n")
    (apt,) = [a for s in m.final.runs() for a in s.apt]
    assert [(p.name, p.version) for p in apt.packages] == [("curl", "7.88.1-10"), ("git", None)]
    assert apt.assume_yes and apt.no_install_recommends
    assert m.final.has_program("curl") is True


def test_heredoc_run_body_is_parsed_as_shell():
    _, m = _model("FROM python:3.11-slim\nRUN <<EOF\nset -e\npip install x==1\nEOF\n")
    assert _pkgs(m) == [("x", "1")]


def test_python_heredoc_is_not_shell():
    _, m = _model("FROM python:3.11-slim\nRUN python3 <<EOF\nimport os\nEOF\n")
    assert [c.name for s in m.final.runs() for c in s.commands] == ["python3"]


def test_copy_from_stage_and_mounts():
    text = ("FROM python:3.11 AS build\nRUN pip install --user x==1\n"
            "FROM python:3.11-slim\nCOPY --from=build /root/.local /root/.local\n"
            "RUN --mount=type=cache,target=/root/.cache/pip pip install y==2\n")
    _, m = _model(text)
    build, final = m.stages
    (cp,) = final.copies
    assert cp.from_stage is build and cp.sources == ["/root/.local"] and cp.dest == "/root/.local"
    (run,) = final.runs()
    assert run.has_cache_mount("/root/.cache/pip")
    assert not run.has_cache_mount("/var/lib/apt/lists")


def test_cmd_entrypoint_healthcheck_inherited_and_reset():
    text = ('FROM python:3.11-slim AS a\nCMD ["python", "app.py"]\nHEALTHCHECK CMD true\n'
            'FROM a\nENTRYPOINT ["tini", "--"]\n')
    _, m = _model(text)
    final = m.final
    assert final.healthcheck is not None
    assert final.entrypoint is not None
    assert final.cmd is None  # ENTRYPOINT resets a CMD inherited from the base


def test_fragment_stage_has_no_base():
    _, m = _model("COPY . .\nRUN pip install -r requirements.txt\n")
    assert m.final.stage.index == -1 and m.final.base is None and m.final.facts is None


def test_heredoc_only_run_has_no_shell_error():
    _, m = _model("FROM python:3.11-slim\n"
                  "RUN --mount=type=cache,target=/root/.cache/pip <<EOF\npip3 install -r r.txt\nEOF\n")
    (step,) = m.final.runs()
    assert step.script.has_error is False
    assert [c.name for c in step.commands] == ["pip3"]


def test_leaf_stages_and_what_ships():
    text = ("FROM python:3.11 AS build\nRUN pip wheel -w /wheels x==1\n"
            "FROM python:3.11 AS test\nRUN echo test\n"
            "FROM python:3.11-slim\nCOPY --from=build /wheels /wheels\n")
    _, m = _model(text)
    build, test, final = m.stages
    assert m.leaf_stages() == [test, final]
    assert m.ships(final) and m.ships(test)
    assert not m.ships(build)
    assert m.ships(build, "/wheels/x.whl")
    assert not m.ships(build, "/root/.cache/pip")


def test_shell_instruction_options_reach_run_scripts():
    _, m = _model('FROM debian:12-slim\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
                  "RUN curl -fsSL https://example.com/x | tar -xz\n")
    (step,) = m.final.runs()
    assert step.shell == ["/bin/bash", "-o", "pipefail", "-c"]
    assert "pipefail" in step.script.pipelines[0].options


def test_exec_form_commands_are_unwrapped_with_source_spans():
    from mldlint.model import entrypoint_commands

    df, m = _model('FROM python:3.11-slim\n'
                   'CMD ["tini", "--", "sh", "-c", "python a.py && uvicorn x:y --port 80"]\n')
    cmd = m.final.cmd
    cmds = entrypoint_commands(cmd, df.source.text)
    assert [c.name for c in cmds] == ["python", "uvicorn"]
    word = cmds[1].argv[0]
    assert df.source.text[word.span.start:word.span.end] == "uvicorn"


def test_env_values_that_grow_each_instruction_are_capped():
    # every step keeps the environment it sees: an uncapped PATH growing by one entry per
    # instruction made memory quadratic (the 10 MB robustness input peaked at 12 GB)
    from mldlint.model import MAX_VALUE

    text = "FROM python:3.11\n" + "ENV PATH=/opt/tool/bin:$PATH\nARG X=a$X\n" * 3000
    _, m = _model(text)
    last = m.stages[0].final_env
    assert len(last["PATH"]) == MAX_VALUE == 4096
    assert last["PATH"].startswith("/opt/tool/bin:/opt/tool/bin:")
    assert len(last["X"]) == 3000  # under the cap: exact
