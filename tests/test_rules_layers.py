"""What users see from the layer rules: MLD401, MLD402, MLD404, MLD405."""

from __future__ import annotations

import textwrap

import pytest

from mldlint.engine import lint_source
from mldlint.source import SourceFile


def lint(text: str, rule: str, context=None):
    text = textwrap.dedent(text)
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {rule, "MLD004"},
                        str(context) if context is not None else None)
    assert [d for d in found if d.rule == "MLD004"] == []
    return [d for d in found if d.rule == rule]


# ----------------------------------------------------------------------------------- MLD401
def test_401_fires_at_the_install_after_copy_dot():
    d, = lint("""\
        FROM python:3.11-slim
        WORKDIR /app
        COPY . .
        RUN pip install --no-cache-dir -r requirements.txt
        """, "MLD401")
    assert (d.line, d.column) == (4, 5)
    assert "COPY . ." in d.message and "line 3" in d.message
    assert "COPY requirements.txt first" in d.message


def test_401_fragment_fires():
    ds = lint("""\
        COPY . .
        RUN pip install -r requirements.txt

        COPY requirements.txt .
        RUN pip install -r requirements.txt
        COPY . .
        """, "MLD401")
    assert [d.line for d in ds] == [2]


def test_401_folder_holding_the_manifest_and_other_tools():
    assert len(lint("""\
        FROM python:3.11-slim
        COPY app/ /app/
        RUN pip install -r /app/requirements.txt
        """, "MLD401")) == 1
    assert len(lint("""\
        FROM continuumio/miniconda3:24.7.1-0
        WORKDIR /app
        COPY . .
        RUN conda env create -f environment.yml
        """, "MLD401")) == 1
    assert len(lint("""\
        FROM node:20-slim
        WORKDIR /app
        COPY . .
        RUN npm ci
        """, "MLD401")) == 1


@pytest.mark.parametrize("text", [
    # manifest first, source later: the recommended order
    "COPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .",
    # the project itself after its manifest was installed from
    "COPY pyproject.toml .\nRUN pip install -r pyproject.toml\nCOPY . .\n"
    "RUN pip install --no-deps .",
    # a narrow copy that does not hold the manifest
    "COPY requirements.txt .\nCOPY src/ ./src/\nRUN pip install -r requirements.txt",
    # packages named on the command line read no manifest
    "COPY . .\nRUN pip install --no-cache-dir torch==2.1.0",
    # manifest bind-mounted
    "COPY . .\nRUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt "
    "pip install -r /tmp/r.txt",
])
def test_401_quiet(text):
    assert lint(f"FROM python:3.11-slim\nWORKDIR /app\n{text}\n", "MLD401") == []


def test_401_quiet_across_stages():
    assert lint("""\
        FROM python:3.11-slim AS src
        WORKDIR /app
        COPY . .
        FROM python:3.11-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install -r requirements.txt
        """, "MLD401") == []


# ----------------------------------------------------------------------------------- MLD402
def test_402_fires_at_from_pretrained_in_python_c():
    d, = lint("""\
        FROM python:3.10-slim
        WORKDIR /app
        RUN pip install --no-cache-dir transformers==4.35.0
        COPY api/ ./api/
        RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"
        """, "MLD402")
    assert (d.line, d.column, d.end_column) == (5, 61, 77)
    assert "COPY api/ ./api/" in d.message and "line 4" in d.message


def test_402_heredoc_python_body_and_cli_and_wget():
    assert len(lint("""\
        # syntax=docker/dockerfile:1
        FROM python:3.10-slim
        COPY . .
        RUN python3 <<EOF
        from huggingface_hub import snapshot_download
        snapshot_download("sentence-transformers/all-MiniLM-L6-v2")
        EOF
        """, "MLD402")) == 1
    d, = lint("""\
        FROM python:3.10-slim
        COPY src/ /app/src/
        RUN wget -q https://example.com/models/resnet50.safetensors -O /models/r.safetensors
        """, "MLD402")
    assert "resnet50.safetensors" in d.message
    assert len(lint("""\
        FROM python:3.10-slim
        COPY src/ /app/src/
        RUN hf download Qwen/Qwen2-0.5B --local-dir /models/qwen
        """, "MLD402")) == 1


@pytest.mark.parametrize("text", [
    # download before the code
    "RUN python -c \"from transformers import AutoModel; AutoModel.from_pretrained('bert')\"\n"
    "COPY . .",
    # only a manifest copied before it
    "COPY requirements.txt .\nRUN huggingface-cli download gpt2",
    # the RUN runs the copied script
    "COPY download_model.py .\nRUN python download_model.py",
    # loads a copied folder, not a download
    "COPY models/ /models/\nRUN python -c \"AutoModel.from_pretrained('/models/bert')\"",
    # downloads into a cache mount
    "COPY . .\nRUN --mount=type=cache,target=/root/.cache/huggingface huggingface-cli download gpt2",
])
def test_402_quiet(text):
    assert lint(f"FROM python:3.10-slim\nWORKDIR /app\n{text}\n", "MLD402") == []


# ----------------------------------------------------------------------------------- MLD404
def test_404_fires_at_later_cleanup():
    d, = lint("""\
        FROM debian:12-slim
        RUN apt-get update && apt-get install -y --no-install-recommends git
        RUN rm -rf /var/lib/apt/lists/*
        """, "MLD404")
    assert (d.line, d.column, d.end_column) == (3, 5, 32)
    assert "apt-get update" in d.message and "line 2" in d.message


@pytest.mark.parametrize("text,word", [
    ("RUN pip install torch==2.4.1\nRUN pip cache purge", "pip install"),
    ("RUN pip install torch==2.4.1\nRUN rm -rf /root/.cache", "pip install"),
    ("RUN conda install -y numpy=1.26.4\nRUN conda clean -afy", "conda install"),
    ("RUN wget https://example.com/x.tar.gz\nRUN tar xzf x.tar.gz && rm x.tar.gz", "wget"),
])
def test_404_other_cleanups(text, word):
    d, = lint(f"FROM python:3.11-slim\nWORKDIR /src\n{text}\n", "MLD404")
    assert word in d.message


@pytest.mark.parametrize("text", [
    "RUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*",
    "RUN pip install --no-cache-dir torch==2.4.1\nRUN rm -rf /root/.cache",
    "RUN rm -rf /var/lib/apt/lists/*",
    "COPY x.tar.gz .\nRUN tar xzf x.tar.gz && rm x.tar.gz",
    "RUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n"
    "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*",
])
def test_404_quiet(text):
    assert lint(f"FROM python:3.11-slim\nWORKDIR /src\n{text}\n", "MLD404") == []


def test_404_quiet_in_unshipped_builder():
    assert lint("""\
        FROM python:3.11 AS build
        RUN pip install --prefix=/install torch==2.4.1
        RUN pip cache purge
        FROM python:3.11-slim
        COPY --from=build /install /usr/local
        """, "MLD404") == []


# ------------------------------------------------------------------- MLD401/402/404 fixes
def _fixed(text: str, rule: str, unsafe: bool = True, context=None) -> str:
    """``text`` after ``--fix`` (``--unsafe-fixes`` when ``unsafe``) with only ``rule``."""
    from mldlint.fixer import fix_source

    r = fix_source(SourceFile.from_text(textwrap.dedent(text), "Dockerfile"), {rule},
                   str(context) if context is not None else None, unsafe=unsafe)
    assert r.guard_tripped is None
    return r.text


def _fixed_examples():
    from mldlint.registry import load_all

    metas = load_all()
    for rid in ("MLD401", "MLD402", "MLD404"):
        for n, ex in enumerate(metas[rid].examples):
            if "fixed" in ex:
                yield pytest.param(rid, ex, id=f"{rid}-{n}")


@pytest.mark.parametrize("rule_id,example", list(_fixed_examples()))
def test_layer_yaml_fixed_examples_are_what_the_unsafe_fix_makes(rule_id, example):
    assert _fixed(example["bad"], rule_id) == example["fixed"]
    assert _fixed(example["bad"], rule_id, unsafe=False) == example["bad"]  # never safe
    assert lint(example["fixed"], rule_id) == []


def test_401_fix_keeps_comments_and_paragraphs():
    assert _fixed("""\
        FROM python:3.11-slim
        WORKDIR /app

        # the code
        COPY . .

        # dependencies
        RUN pip install --no-cache-dir -r requirements.txt \\
            && pip cache purge

        CMD ["python", "main.py"]
        """, "MLD401") == textwrap.dedent("""\
        FROM python:3.11-slim
        WORKDIR /app

        COPY requirements.txt .
        # dependencies
        RUN pip install --no-cache-dir -r requirements.txt \\
            && pip cache purge

        # the code
        COPY . .

        CMD ["python", "main.py"]
        """)


def test_401_fix_destination_flags_and_lock_files(tmp_path):
    assert _fixed("FROM python:3.11-slim\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
                  "MLD401") == ("FROM python:3.11-slim\nCOPY requirements.txt /app/\n"
                                "RUN pip install -r /app/requirements.txt\nCOPY . /app\n")
    assert _fixed("FROM node:20-slim\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN npm ci",
                  "MLD401") == ("FROM node:20-slim\nWORKDIR /app\n"
                                "COPY --chown=node:node package.json package-lock.json ./\n"
                                "RUN npm ci\nCOPY --chown=node:node . .")
    poetry = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN poetry install --no-root\n"
    assert "COPY pyproject.toml poetry.lock* ./\n" in _fixed(poetry, "MLD401")
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    assert "COPY pyproject.toml .\nRUN poetry" in _fixed(poetry, "MLD401", context=tmp_path)
    (tmp_path / "poetry.lock").write_text("")
    assert "COPY pyproject.toml poetry.lock ./\n" in _fixed(poetry, "MLD401", context=tmp_path)


def test_401_fix_crlf():
    text = "FROM python:3.11-slim\r\nCOPY . .\r\nRUN pip install -r requirements.txt\r\n"
    assert _fixed(text, "MLD401") == ("FROM python:3.11-slim\r\nCOPY requirements.txt .\r\n"
                                      "RUN pip install -r requirements.txt\r\nCOPY . .\r\n")


@pytest.mark.parametrize("between", [
    "RUN apt-get update && apt-get install -y --no-install-recommends gcc",
    "ENV PIP_INDEX_URL=https://example.com/simple",
    "WORKDIR /app/deps",
    "ARG EXTRA=1",
    "USER app",
    "COPY setup.py .",
])
def test_401_no_edit_when_something_between_may_matter(between):
    d, = lint(f"""\
        FROM python:3.11-slim
        WORKDIR /app
        COPY . .
        {between}
        RUN pip install -r requirements.txt
        """, "MLD401")
    assert d.fix is None


@pytest.mark.parametrize("run", [
    "RUN pip install -r requirements.txt && python setup.py build_ext",
    "RUN pip install -r requirements.txt && pip install -e .",
    "RUN pip install -r requirements.txt && ./scripts/post_install.sh",
    "RUN pip install -r requirements.txt && rm -rf /app/tests",
])
def test_401_no_edit_when_the_run_also_uses_the_source(run):
    d, = lint(f"FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n{run}\n", "MLD401")
    assert d.fix is None


def test_401_needs_source_is_a_suggestion_only():
    d, = lint("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n", "MLD401")
    assert d.fix is not None and d.fix.applicability == "suggest" and d.fix.edits == ()
    assert "--no-deps" in d.fix.title
    text = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    assert _fixed(text, "MLD401") == text


def test_402_fix_moves_the_block_above_the_first_copy_keeping_paragraphs():
    assert _fixed("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir transformers==4.35.0

        # Copy application
        COPY api/ ./api/
        COPY models/ ./models/

        # Download model at build time
        RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"

        EXPOSE 8000
        """, "MLD402") == textwrap.dedent("""\
        FROM python:3.10-slim
        RUN pip install --no-cache-dir transformers==4.35.0

        # Download model at build time
        RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"

        # Copy application
        COPY api/ ./api/
        COPY models/ ./models/

        EXPOSE 8000
        """)


def test_402_fix_stops_at_what_the_download_may_need():
    # crosses only the COPY after the one it names
    assert _fixed("""\
        FROM python:3.10-slim
        COPY api/ ./api/
        COPY dl.py .
        COPY web/ ./web/
        RUN python dl.py && python -c "import x; x.AutoModel.from_pretrained('gpt2')"
        """, "MLD402") == textwrap.dedent("""\
        FROM python:3.10-slim
        COPY api/ ./api/
        COPY dl.py .
        RUN python dl.py && python -c "import x; x.AutoModel.from_pretrained('gpt2')"
        COPY web/ ./web/
        """)
    for between in ("ENV HF_HOME=/models", "RUN pip install transformers", "USER app",
                    "WORKDIR /srv"):
        d, = lint(f"""\
            FROM python:3.10-slim
            COPY api/ ./api/
            {between}
            RUN huggingface-cli download gpt2 --local-dir /models/gpt2
            """, "MLD402")
        assert d.fix is None, between


def test_404_fix_continuation_styles():
    assert _fixed("""\
        FROM debian:12-slim
        RUN apt-get update && \\
            apt-get install -y --no-install-recommends git

        # clean up
        RUN rm -rf /var/lib/apt/lists/*

        CMD ["git", "--version"]
        """, "MLD404") == textwrap.dedent("""\
        FROM debian:12-slim
        RUN apt-get update && \\
            apt-get install -y --no-install-recommends git && \\
            rm -rf /var/lib/apt/lists/*

        CMD ["git", "--version"]
        """)
    assert _fixed("""\
        FROM python:3.11-slim
        RUN pip install \\
            torch==2.4.1
        COPY . /app
        RUN echo start && pip cache purge && echo done
        """, "MLD404") == textwrap.dedent("""\
        FROM python:3.11-slim
        RUN pip install \\
            torch==2.4.1 \\
            && pip cache purge
        COPY . /app
        RUN echo start && echo done
        """)


def test_404_fix_moves_commands_that_need_the_files_and_whole_cleanup_runs():
    # the install needs the lists: with the RUNs adjacent, it moves along (the two merge)
    assert _fixed("""\
        FROM ubuntu:22.04
        RUN apt-get update -qq
        RUN apt-get install -y --no-install-recommends \\
          gcc \\
          && rm -rf /var/lib/apt/lists/*
        CMD ["gcc", "--version"]
        """, "MLD404") == textwrap.dedent("""\
        FROM ubuntu:22.04
        RUN apt-get update -qq && apt-get install -y --no-install-recommends \\
          gcc \\
          && rm -rf /var/lib/apt/lists/*
        CMD ["gcc", "--version"]
        """)
    # a RUN of cleanups only moves as a whole
    assert _fixed("""\
        FROM ubuntu:22.04
        WORKDIR /tmp
        RUN curl -O https://example.com/s-3.2.tar.gz && tar xzf s-3.2.tar.gz
        RUN rm -rf /tmp/s-3.2 && rm /tmp/s-3.2.tar.gz
        """, "MLD404") == textwrap.dedent("""\
        FROM ubuntu:22.04
        WORKDIR /tmp
        RUN curl -O https://example.com/s-3.2.tar.gz && tar xzf s-3.2.tar.gz && rm -rf /tmp/s-3.2 && rm /tmp/s-3.2.tar.gz
        """)


@pytest.mark.parametrize("text", [
    # an install between needs the lists
    "FROM debian:12-slim\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends "
    "git\nRUN rm -rf /var/lib/apt/lists/*\n",
    # the archive is used between
    "FROM ubuntu:22.04\nRUN wget -q -O /tmp/t.tgz https://example.com/t.tgz\n"
    "RUN tar xzf /tmp/t.tgz -C /opt\nRUN rm /tmp/t.tgz\n",
    # ENV between
    "FROM python:3.11-slim\nRUN pip install torch==2.4.1\nENV A=1\nRUN pip cache purge\n",
    # the creating RUN ends with a shell comment: an append would be commented out
    "FROM python:3.11-slim\nRUN pip install torch==2.4.1 # big\nRUN pip cache purge\n",
    # the cleanup RUN is not a plain && list, or has a mount
    "FROM python:3.11-slim\nRUN pip install torch==2.4.1\nRUN pip cache purge || true\n",
    "FROM python:3.11-slim\nRUN pip install torch==2.4.1\n"
    "RUN --mount=type=secret,id=x pip cache purge\n",
])
def test_404_no_edit(text):
    d, = lint(text, "MLD404")
    assert d.fix is None


# ----------------------------------------------------------------------------------- MLD405
BROAD = """\
    FROM python:3.11-slim
    WORKDIR /app
    COPY . .
    """


def test_405_no_dockerignore(tmp_path):
    d, = lint(BROAD, "MLD405", tmp_path)
    assert (d.line, d.column, d.end_column) == (3, 6, 7)
    assert "no .dockerignore" in d.message


def test_405_dockerignore_missing_existing_artefacts(tmp_path):
    (tmp_path / ".dockerignore").write_text("__pycache__/\n*.pt\n")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "m.safetensors").write_text("x")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.pt").write_text("x")  # `*.pt` only matches at the top in Docker
    (tmp_path / "b.pt").write_text("x")
    d, = lint(BROAD, "MLD405", tmp_path)
    assert "*.safetensors" in d.message and "checkpoints/" in d.message
    assert "models/a.pt" in d.message


def test_405_negation_reincludes(tmp_path):
    (tmp_path / ".dockerignore").write_text("**/*.onnx\n!keep.onnx\n")
    (tmp_path / "keep.onnx").write_text("x")
    d, = lint(BROAD, "MLD405", tmp_path)
    assert "*.onnx" in d.message


def test_405_quiet(tmp_path):
    # no build context known
    assert lint(BROAD, "MLD405", None) == []
    # a dockerignore covering what exists
    (tmp_path / ".dockerignore").write_text(".git\n**/*.pt\ndata\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.pt").write_text("x")
    assert lint(BROAD, "MLD405", tmp_path) == []
    # named copies and copies from a stage
    assert lint("FROM python:3.11-slim\nCOPY main.py .\n", "MLD405", tmp_path / "sub") == []
    assert lint("FROM python:3.11-slim AS a\nFROM python:3.11-slim\nCOPY --from=a . .\n",
                "MLD405", tmp_path / "sub") == []


def test_405_dockerfile_specific_ignore_file(tmp_path):
    (tmp_path / "Dockerfile.dockerignore").write_text(".git\n")
    assert lint(BROAD, "MLD405", tmp_path) == []


def test_mld401_poetry_only_root_after_manifest_install_is_the_recommended_pattern():
    text = ("FROM python:3.11-slim\nWORKDIR /app\n"
            "COPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root\n"
            "COPY . .\nRUN poetry install --only-root --no-interaction\n")
    found = lint_source(SourceFile.from_text(text, "Dockerfile"), {"MLD401"}, None)
    assert [d.rule for d in found] == []


# ------------------------------------------------------------------------ MLD405 fixes
def _fix405(tmp_path, text=BROAD, name="Dockerfile"):
    """Fix ``text`` (written as ``name`` in ``tmp_path``, the build context) with MLD405:
    (fixed Dockerfile text, {relative path: text written})."""
    from mldlint.fixer import fix_source

    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    src = SourceFile.from_bytes(path.read_bytes(), path=str(path))
    r = fix_source(src, {"MLD405"}, str(tmp_path))
    assert r.guard_tripped is None and r.refused == []
    return r.text, {str(c.path)[len(str(tmp_path)) + 1:]: c.after for c in r.other_files}


def test_405_fix_writes_a_new_dockerignore_with_the_artefacts_present(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "wandb").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.onnx").write_text("x")
    d, = lint(BROAD, "MLD405", tmp_path)
    assert d.fix.applicability == "safe" and d.fix.title == "Write .dockerignore"
    e, = d.fix.edits
    assert (e.start, e.end, e.path) == (0, 0, str(tmp_path / ".dockerignore"))
    text, written = _fix405(tmp_path)
    assert text == textwrap.dedent(BROAD)
    assert written == {".dockerignore": b".git\n**/__pycache__/\n.venv/\n**/*.onnx\nwandb/\n"}


def test_405_fix_appends_to_an_existing_file_keeping_its_newlines(tmp_path):
    (tmp_path / ".dockerignore").write_bytes(b"# mine\r\n.git\r\n*.pt")  # CRLF, no final newline
    (tmp_path / "a.pt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.pt").write_text("x")
    (tmp_path / "mlruns").mkdir()
    d, = lint(BROAD, "MLD405", tmp_path)
    assert d.fix.title == "Add *.pt, mlruns/ to .dockerignore"
    _, written = _fix405(tmp_path)
    assert written == {".dockerignore": b"# mine\r\n.git\r\n*.pt\r\n**/*.pt\r\nmlruns/\r\n"}
    # once written, the rule is quiet
    (tmp_path / ".dockerignore").write_bytes(written[".dockerignore"])
    assert lint(BROAD, "MLD405", tmp_path) == []


def test_405_fix_appends_to_the_dockerfile_specific_ignore_file(tmp_path):
    (tmp_path / ".dockerignore").write_text("")
    (tmp_path / "Dockerfile.dockerignore").write_text("**/*.pt\n")
    (tmp_path / "checkpoints").mkdir()
    _, written = _fix405(tmp_path)
    assert written == {"Dockerfile.dockerignore": b"**/*.pt\ncheckpoints/\n"}


def test_405_fix_leaves_out_what_a_dockerfile_of_the_context_names(tmp_path):
    for d in ("data", "checkpoints", "mlruns", ".venv"):
        (tmp_path / d).mkdir()
    (tmp_path / "model.safetensors").write_text("x")
    text = """\
        FROM python:3.11-slim
        WORKDIR /app
        RUN uv venv /app/.venv
        COPY . .
        ENV WEIGHTS=/app/model.safetensors
        CMD ["mlflow", "models", "serve", "-m", "mlruns/0/abc/artifacts/model"]
        """
    (tmp_path / "Dockerfile.train").write_text("FROM python:3.11\nCOPY data/ /data/\n")
    _, written = _fix405(tmp_path, text)
    # data/ (a sibling Dockerfile copies it), mlruns and the weights are named; the host .venv is
    # excluded (only an explicit COPY of it would keep it)
    assert written == {".dockerignore": b".git\n**/__pycache__/\n.venv/\ncheckpoints/\n"}
    d, = lint(text, "MLD405", tmp_path)
    assert "data/" not in d.fix.edits[0].text


@pytest.mark.parametrize("text,files", [
    ("FROM python:3.11-slim\nCOPY . .\nRUN git describe --tags > /VERSION\n", {}),
    ("FROM python:3.11-slim\nCOPY .git .git\nCOPY . .\n", {}),
    ("FROM python:3.11-slim\nCOPY . .\nRUN pip install .\n",
     {"pyproject.toml": '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n'}),
])
def test_405_fix_keeps_git_when_the_build_may_need_it(tmp_path, text, files):
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    _, written = _fix405(tmp_path, text)
    assert written == {".dockerignore": b"**/__pycache__/\n.venv/\n"}


def test_405_fix_keeps_git_for_a_clone_only(tmp_path):
    text = "FROM python:3.11-slim\nRUN git clone https://github.com/a/b.git\nCOPY . .\n"
    _, written = _fix405(tmp_path, text)
    assert written[".dockerignore"].startswith(b".git\n")


def test_405_no_fix_when_everything_missing_is_named_or_the_context_is_a_collection(tmp_path):
    (tmp_path / ".dockerignore").write_text(".git\n")
    (tmp_path / "data").mkdir()
    d, = lint("FROM python:3.11-slim\nCOPY . .\nVOLUME /data\n", "MLD405", tmp_path)
    assert d.fix is None
    other = tmp_path / "other"
    other.mkdir()
    for i in range(13):
        (other / f"{i}.Dockerfile").write_text("FROM scratch\n")
    d, = lint(BROAD, "MLD405", other)
    assert d.fix is None


def test_405_fix_through_the_cli_writes_and_reports_the_second_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mldlint.cli import cli

    (tmp_path / "Dockerfile").write_text(textwrap.dedent(BROAD))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["check", "--isolated", "--select", "MLD405", "--fix",
                                 "--show-fixes", "Dockerfile"])
    assert (tmp_path / ".dockerignore").read_text() == ".git\n**/__pycache__/\n.venv/\n"
    assert ".dockerignore" in r.output
    assert (tmp_path / "Dockerfile").read_text() == textwrap.dedent(BROAD)
    r = CliRunner().invoke(cli, ["check", "--isolated", "--select", "MLD405", "--diff",
                                 "Dockerfile"])
    assert r.exit_code == 0 and r.stdout == ""
