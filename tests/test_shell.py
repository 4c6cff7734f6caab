"""Tests for mldlint.parser.shell: simple commands, argv values and exact source spans."""

from __future__ import annotations

import pytest

from mldlint.parser.nodes import OffsetMap, Span
from mldlint.parser.shell import (
    Command,
    Script,
    flag_value,
    has_flag,
    parse_shell,
    pip_args,
    pip_kind,
    shell_heredoc_target,
    words_text,
)


def argvs(script: Script) -> list[list[str]]:
    return [words_text(c.argv) for c in script.commands]


def assert_spans(text: str, script: Script) -> None:
    """Every word's span slices its raw text out of ``text``."""
    for c in script.commands:
        for w in c.full_argv:
            assert text[w.span.start:w.span.end] == w.raw, (w, c)


def one(text: str) -> Command:
    sc = parse_shell(text)
    assert len(sc.commands) == 1, argvs(sc)
    return sc.commands[0]


# ------------------------------------------------------------------- lists and compounds
@pytest.mark.parametrize("text,expected", [
    ("apt-get update && apt-get install -y curl",
     [["apt-get", "update"], ["apt-get", "install", "-y", "curl"]]),
    ("a || b; c", [["a"], ["b"], ["c"]]),
    ("a\nb\n\nc", [["a"], ["b"], ["c"]]),
    ("curl -fsSL https://x | bash -", [["curl", "-fsSL", "https://x"], ["bash", "-"]]),
    ("(cd /src && make install)", [["cd", "/src"], ["make", "install"]]),
    ("{ a; b; }", [["a"], ["b"]]),
    ("if [ -f x ]; then pip install x; elif y; then z; else w; fi",
     [["pip", "install", "x"], ["y"], ["z"], ["w"]]),
    ("for p in a b; do pip install $p; done", [["pip", "install", "$p"]]),
    ("while read l; do echo $l; done < f", [["read", "l"], ["echo", "$l"]]),
    ("case $x in a) echo a;; *) echo b;; esac", [["echo", "a"], ["echo", "b"]]),
    ("f() { pip install q; }; f", [["pip", "install", "q"], ["f"]]),
])
def test_flattening(text: str, expected: list[list[str]]) -> None:
    sc = parse_shell(text)
    assert argvs(sc) == expected
    assert not sc.has_error
    assert_spans(text, sc)


def test_command_substitution_runs_first() -> None:
    text = 'echo "$(pip freeze)" && V=$(python -c "import torch") pip install x'
    sc = parse_shell(text)
    assert argvs(sc) == [["pip", "freeze"], ["echo", '"$(pip freeze)"'],
                         ["python", "-c", "import torch"], ["pip", "install", "x"]]
    assert sc.commands[0].in_substitution and not sc.commands[1].in_substitution
    assert sc.commands[1].argv[1].value is None  # dynamic
    assert sc.commands[3].assignments == {"V": "$(python -c \"import torch\")"}
    assert_spans(text, sc)


def test_backquotes_and_process_substitution() -> None:
    sc = parse_shell("echo `uname -m`; diff <(ls a) b")
    assert [c.name for c in sc.commands] == ["uname", "echo", "ls", "diff"]


def test_brackets_arrays_arithmetic() -> None:
    text = 'if [[ -n "$X" && $X == y ]]; then arr=(a b); echo ${arr[@]} $((1 + 2)); fi'
    sc = parse_shell(text)
    assert not sc.has_error
    assert argvs(sc) == [["echo", "${arr[@]}", "$((1 + 2))"]]
    assert_spans(text, sc)


def test_declarations_are_commands() -> None:
    sc = parse_shell('export PATH=/opt/bin:$PATH A="x y"; unset B')
    assert [c.name for c in sc.commands] == ["export", "unset"]
    assert sc.commands[0].argv[2].value == "A=x y"
    assert sc.commands[0].argv[1].value is None


# ----------------------------------------------------------------------- words and values
def test_quote_removal_and_spans() -> None:
    text = """pip install "torch==2.1" 'numpy<2' foo\\[bar\\] 'a'"b"c $'x\\ty' "$V" *.whl"""
    c = one(text)
    assert words_text(c.argv) == ["pip", "install", "torch==2.1", "numpy<2", "foo[bar]", "abc",
                                  "x\ty", '"$V"', "*.whl"]
    assert c.argv[7].value is None and c.argv[7].raw == '"$V"'
    assert c.argv[2].raw == '"torch==2.1"'
    assert_spans(text, parse_shell(text))
    assert text[c.span.start:c.span.end] == text


def test_redirections_are_not_words() -> None:
    text = "apt-get update > /dev/null 2>&1 && pip install x 2>/dev/null || true"
    sc = parse_shell(text)
    assert argvs(sc) == [["apt-get", "update"], ["pip", "install", "x"], ["true"]]
    c = sc.commands[0]
    assert [r.op for r in c.redirects] == [">", ">&"]
    assert c.redirects[1].fd == "2"
    assert text[c.span.start:c.span.end] == "apt-get update > /dev/null 2>&1"


def test_words_after_redirect_target_are_arguments() -> None:
    # tree-sitter-bash reports `b` and `c` as redirect destinations; bash passes them to echo
    c = one("echo a > f b 2>&1 c")
    assert words_text(c.argv) == ["echo", "a", "b", "c"]


def test_command_name_dynamic() -> None:
    sc = parse_shell('"$PIP" install y; \\pip install z')
    assert sc.commands[0].name is None
    assert sc.commands[1].name == "pip"


def test_name_is_basename() -> None:
    assert one("/opt/venv/bin/pip install x").name == "pip"


# --------------------------------------------------------------------------- prefixes
def test_assignment_prefix() -> None:
    text = "DEBIAN_FRONTEND=noninteractive apt-get install -y tzdata"
    c = one(text)
    assert c.name == "apt-get"
    assert c.assignments == {"DEBIAN_FRONTEND": "noninteractive"}
    assert words_text(c.args) == ["install", "-y", "tzdata"]
    assert c.span == Span(0, len(text))
    assert_spans(text, parse_shell(text))


def test_env_wrapper() -> None:
    c = one('env -i A=b B="x y" pip install x')
    assert c.name == "pip" and c.wrappers == ["env"]
    assert c.assignments == {"A": "b", "B": "x y"}
    assert words_text(c.full_argv)[0] == "env"


def test_sudo_wrapper() -> None:
    text = "sudo -E pip install x"
    c = one(text)
    assert c.wrappers == ["sudo"] and words_text(c.argv) == ["pip", "install", "x"]
    assert text[c.argv[0].span.start:c.argv[0].span.end] == "pip"
    c = one("sudo -u root -H env A=1 apt-get install -y q")
    assert c.wrappers == ["sudo", "env"] and c.name == "apt-get" and c.assignments == {"A": "1"}


@pytest.mark.parametrize("text,wrappers", [
    ("conda run -n X pip install y", ["conda run"]),
    ("conda run -n X --no-capture-output pip install y", ["conda run"]),
    ("micromamba run -n base pip install y", ["micromamba run"]),
    ("mamba run -p /opt/env pip install y", ["mamba run"]),
    ("poetry run pip install y", ["poetry run"]),
    ("uv run --with x pip install y", ["uv run"]),
    ("timeout 60 nohup nice -n 5 pip install y", ["timeout", "nohup", "nice"]),
    ("exec gosu app pip install y", ["exec", "gosu"]),
    ("tini -- pip install y", ["tini"]),
])
def test_run_wrappers(text: str, wrappers: list[str]) -> None:
    c = one(text)
    assert c.wrappers == wrappers
    assert words_text(c.argv) == ["pip", "install", "y"]


def test_wrapper_without_command_is_kept() -> None:
    assert one("env").name == "env"
    assert one("command -v pip").name == "command"
    assert one("sudo -v").name == "sudo"


# ---------------------------------------------------------------------------- sh -c
def test_sh_c_single_quotes() -> None:
    text = "sh -c 'apt-get update && apt-get install -y curl'"
    sc = parse_shell(text)
    assert argvs(sc) == [["apt-get", "update"], ["apt-get", "install", "-y", "curl"]]
    assert all(c.wrappers == ["sh -c"] for c in sc.commands)
    assert_spans(text, sc)
    c = sc.commands[1]
    assert text[c.span.start:c.span.end] == "apt-get install -y curl"
    assert c.shell_span == Span(0, len(text))


def test_bash_lc_double_quotes_with_escapes() -> None:
    text = 'bash -lc "echo \\"hi there\\" && pip install \\"torch>=2\\" \\$HOME x"'
    sc = parse_shell(text)
    assert argvs(sc) == [["echo", "hi there"], ["pip", "install", "torch>=2", "$HOME", "x"]]
    echo, pip = sc.commands
    hi = echo.argv[1]
    assert hi.raw == '"hi there"'
    assert text[hi.span.start:hi.span.end] == '\\"hi there\\"'
    torch = pip.argv[2]
    assert text[torch.span.start:torch.span.end] == '\\"torch>=2\\"'
    assert text[pip.argv[0].span.start:pip.argv[0].span.end] == "pip"
    assert text[pip.argv[4].span.start:pip.argv[4].span.end] == "x"
    assert pip.argv[3].value is None  # $HOME is expanded by the inner shell
    assert pip.wrappers == ["bash -c"]


def test_sh_c_options_and_nesting() -> None:
    text = "sudo -E /bin/sh -eo pipefail -c \"bash -c 'curl x | tar xz'\""
    sc = parse_shell(text)
    assert argvs(sc) == [["curl", "x"], ["tar", "xz"]]
    assert sc.commands[0].wrappers == ["sudo", "sh -c", "bash -c"]
    assert_spans(text, sc)
    assert len(sc.pipelines) == 1
    # options do not pass into a new shell
    assert "pipefail" in sc.options_set
    assert "pipefail" not in sc.pipelines[0].options


def test_sh_c_keeps_outer_assignments() -> None:
    c = one("DEBIAN_FRONTEND=noninteractive sh -c 'apt-get install -y x'")
    assert c.name == "apt-get" and c.assignments == {"DEBIAN_FRONTEND": "noninteractive"}


def test_sh_without_c_is_a_command() -> None:
    assert one("sh ./install.sh").name == "sh"
    assert one("bash -c").name == "bash"


# --------------------------------------------------------------------------- heredocs
def test_heredoc_attached_and_line_rest() -> None:
    text = "cat <<EOF > /etc/x && pip install y\nhello $(pip freeze)\nEOF\necho done"
    sc = parse_shell(text)
    assert argvs(sc) == [["pip", "freeze"], ["cat"], ["pip", "install", "y"], ["echo", "done"]]
    cat = sc.commands[1]
    (body, span), = cat.heredoc_bodies
    assert body == "hello $(pip freeze)\n" and text[span.start:span.end] == body
    assert text[cat.span.start:cat.span.end] == "cat <<EOF > /etc/x"
    assert_spans(text, sc)


def test_heredoc_pipeline_and_dash_word() -> None:
    text = "python - <<'EOF' | tee log\nprint(1)\nEOF\n"
    sc = parse_shell(text)
    assert argvs(sc) == [["python", "-"], ["tee", "log"]]
    assert [[c.name for c in st] for st in sc.pipelines[0].stages] == [["python"], ["tee"]]
    assert_spans(text, sc)


def test_shell_heredoc_is_parsed() -> None:
    text = "bash <<EOF\nset -e\npip install \\\n  torch\nEOF\n"
    sc = parse_shell(text)
    assert argvs(sc) == [["bash"], ["set", "-e"], ["pip", "install", "torch"]]
    assert shell_heredoc_target(sc.commands[0])
    pip = sc.commands[2]
    assert pip.wrappers == ["bash <<"] and "errexit" in pip.options
    assert_spans(text, sc)
    assert text[pip.span.start:pip.span.end] == "pip install \\\n  torch"


def test_shell_heredoc_target() -> None:
    for t in ("sh", "bash", "bash -ex", "/bin/bash -o pipefail", "sh -s", "dash -"):
        assert shell_heredoc_target(one(t)), t
    for t in ("bash -c x", "sh script.sh", "python", "cat"):
        assert not shell_heredoc_target(one(t)), t


# ------------------------------------------------------------------- pipelines, options
def test_pipelines_and_set_options() -> None:
    sc = parse_shell("curl x | sh; set -o pipefail; a | b | c")
    assert len(sc.pipelines) == 2
    first, second = sc.pipelines
    assert [c.name for c in first] == ["curl", "sh"]
    assert "pipefail" not in first.options and "pipefail" in second.options
    assert len(second.stages) == 3


def test_initial_options_and_subshell_scope() -> None:
    sc = parse_shell("(set +e; a); b", options={"errexit"})
    a, b = sc.named("a", "b")
    assert "errexit" not in a.options and "errexit" in b.options


def test_negated_and_background() -> None:
    sc = parse_shell("! grep x f; sleep 1 & echo")
    assert sc.commands[0].negated
    assert sc.commands[1].background and not sc.commands[2].background


# ------------------------------------------------------------------------------- pip
@pytest.mark.parametrize("text,kind,rest", [
    ("pip install x", "pip", ["install", "x"]),
    ("pip3 install x", "pip", ["install", "x"]),
    ("pip3.11 install x", "pip", ["install", "x"]),
    ("/opt/venv/bin/pip install x", "pip", ["install", "x"]),
    ("python -m pip install -U x", "pip", ["install", "-U", "x"]),
    ("python3 -m pip install x", "pip", ["install", "x"]),
    ("python3.11 -m pip install x", "pip", ["install", "x"]),
    ("/usr/bin/python3 -u -m pip install x", "pip", ["install", "x"]),
    ("uv pip install x", "uv", ["install", "x"]),
    ("uv --no-cache pip install --system x", "uv", ["install", "--system", "x"]),
    ("conda run -n X pip install y", "pip", ["install", "y"]),
    ("sudo -E pip install x", "pip", ["install", "x"]),
    ("python -m venv /v", None, None),
    ("python setup.py install", None, None),
    ("python -c 'import pip'", None, None),
    ("uv sync", None, None),
    ("pipx install x", None, None),
])
def test_pip(text: str, kind: str | None, rest: list[str] | None) -> None:
    c = one(text)
    assert pip_kind(c) == kind
    got = pip_args(c)
    assert (None if got is None else words_text(got)) == rest


# ------------------------------------------------------------------------------- flags
def test_has_flag() -> None:
    words = parse_shell("apt-get install -yq --no-install-recommends=1 --foo x").commands[0].args
    assert has_flag(words, "y", "assume-yes")
    assert has_flag(words, "q", None)
    assert has_flag(words, None, "no-install-recommends")
    assert not has_flag(words, None, "no-install")
    assert has_flag(["--foo"], None, ("bar", "foo"))
    # combined short flags only in single-dash words
    assert not has_flag(["--yes"], "y", None)
    assert not has_flag(["-y"], None, "y")
    assert not has_flag(["--", "-y"], "y", None)


def test_flag_value() -> None:
    ws = ["install", "-i", "https://a", "--index-url=https://b", "--extra-index-url", "c",
          "-ihttps://d"]
    assert flag_value(ws, "i", "index-url") == ["https://a", "https://b", "https://d"]
    assert flag_value(ws, None, "extra-index-url") == ["c"]
    assert flag_value(ws, None, "nope") == []


# ------------------------------------------------------------------- robustness, offsets
@pytest.mark.parametrize("text", [
    'echo "unterminated && pip install x',
    "echo 'open",
    "if then fi ((",
    "cat <<A <<'B'\na\nA\nb\nB",
    "$(",
    "",
    "   ",
    "\x00\x01 ls",
    "a" * 10000,
    "(" * 3000,
    "echo $(" * 500,
    "sh -c " + "'sh -c \"" * 20,
])
def test_never_raises(text: str) -> None:
    sc = parse_shell(text)
    assert isinstance(sc, Script)
    for c in sc.commands:
        assert c.argv


def test_unterminated_quote_has_error() -> None:
    sc = parse_shell('echo "unterminated && pip install x')
    assert sc.has_error
    assert sc.commands[0].name == "echo"
    assert not parse_shell("echo ok").has_error


def test_non_ascii_spans() -> None:
    text = "echo héllo wörld 日本 && pip install x"
    sc = parse_shell(text)
    assert argvs(sc) == [["echo", "héllo", "wörld", "日本"], ["pip", "install", "x"]]
    assert_spans(text, sc)
    x = sc.commands[1].argv[2]
    assert x.span == Span(len(text) - 1, len(text))


def test_non_ascii_in_sh_c() -> None:
    text = "bash -c \"echo 'ñ' \\\"é\\\" && pip install x\""
    sc = parse_shell(text)
    assert argvs(sc) == [["echo", "ñ", "é"], ["pip", "install", "x"]]
    x = sc.commands[1].argv[2]
    assert text[x.span.start:x.span.end] == "x"


def test_lone_surrogates() -> None:
    raw = b"echo caf\xe9 \xff\xfe && pip install x"
    text = raw.decode("utf-8", "surrogateescape")
    sc = parse_shell(text)
    assert [c.name for c in sc.commands] == ["echo", "pip"]
    assert_spans(text, sc)
    assert sc.commands[0].argv[1].value == "caf\udce9"
    assert text.encode("utf-8", "surrogateescape") == raw
    parse_shell("\ud800 \udfff x")  # any surrogate


def test_astral_characters_after_a_brace_do_not_crash_tree_sitter() -> None:
    # tree-sitter-bash 0.25 reads out of bounds on `{` + a 4-byte UTF-8 character and kills the
    # process (tree-sitter/tree-sitter-bash#337); found by bench/fuzz.py. Run in a child
    # process so that a regression fails this test instead of killing the test run.
    import subprocess
    import sys

    code = ("from mldlint.parser.shell import parse_shell\n"
            "for cp in (0xD0000, 0xDFFFF, 0xE0000, 0xECBDB, 0xF0000, 0x10FFFF, 0x31860):\n"
            "    for k in range(20):\n"
            "        parse_shell('{' + chr(cp) + ' x' * k)\n"
            "        parse_shell('echo {' + chr(cp) + '} && pip install x')\n"
            "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, "ok\n"), run.stderr[-2000:]


def test_astral_characters_keep_words_and_spans() -> None:
    text = "echo {\U000f0000} \U0001f600x && pip install torch # \U0010ffff"
    sc = parse_shell(text)
    assert argvs(sc) == [["echo", "{\U000f0000}", "\U0001f600x"], ["pip", "install", "torch"]]
    assert_spans(text, sc)


def test_offset_map_two_segments() -> None:
    # source "RUN a \\\n  && b": BuildKit joins the continuation into "a   && b"
    source = "RUN a \\\n  && b"
    om = OffsetMap()
    om.add(4, 2)     # "a " (source 4..6)
    om.add(8, 6)     # "  && b" (source 8..14)
    logical = "a   && b"
    assert len(logical) == om.length
    sc = parse_shell(logical, om)
    a, b = sc.commands
    assert a.argv[0].span == Span(4, 5) and source[4:5] == "a"
    assert b.argv[0].span == Span(13, 14) and source[13:14] == "b"
    assert source[b.span.start:b.span.end] == "b"


def test_offset_map_with_sh_c_inside() -> None:
    source = "RUN sh -c 'pip \\\n install x'"
    om = OffsetMap()
    om.add(4, 11)    # "sh -c 'pip "
    om.add(17, 11)   # " install x'"
    logical = "sh -c 'pip  install x'"
    assert om.length == len(logical)
    pip = parse_shell(logical, om).commands[0]
    assert words_text(pip.argv) == ["pip", "install", "x"]
    for w in pip.argv:
        assert source[w.span.start:w.span.end] == w.raw
    assert source[pip.span.start:pip.span.end] == "pip \\\n install x"


def test_heredoc_line_continuations_in_body_script() -> None:
    body = "apt-get update && \\\n    apt-get install -y \\\n      curl \\\n  && rm -rf /var/lib/apt/lists/*\n"
    sc = parse_shell(body)
    assert argvs(sc) == [["apt-get", "update"], ["apt-get", "install", "-y", "curl"],
                         ["rm", "-rf", "/var/lib/apt/lists/*"]]
    assert_spans(body, sc)
