"""Parser behaviour a user (or a rule) relies on: exact spans and positions for instructions,
keywords, flags, arguments, heredocs, comments and directives, on awkward input."""

from __future__ import annotations

from mldlint.parser import parse
from mldlint.source import SourceFile


def _parse(text: str):
    return parse(SourceFile.from_text(text, "Dockerfile"))


def _at(df, span):
    return df.source.text[span.start:span.end]


def _pos(df, offset):
    return df.source.position(offset)


def test_instruction_keyword_flag_and_argument_spans():
    df = _parse("FROM python:3.11-slim AS base\nCOPY --from=base --chown=1000:1000 a.txt /app/\n")
    frm, copy = df.instructions
    assert _at(df, frm.keyword_span) == "FROM"
    assert [_at(df, a.span) for a in frm.args] == ["python:3.11-slim", "AS", "base"]
    assert [f.raw for f in copy.flags] == ["--from=base", "--chown=1000:1000"]
    assert [(f.name, f.value) for f in copy.flags] == [("from", "base"), ("chown", "1000:1000")]
    assert _at(df, copy.flags[1].span) == "--chown=1000:1000"
    assert _pos(df, copy.flags[1].span.start) == (2, 18)
    assert [_at(df, a.span) for a in copy.args] == ["a.txt", "/app/"]
    assert (copy.start_line, copy.end_line) == (2, 2)
    assert _at(df, copy.span) == "COPY --from=base --chown=1000:1000 a.txt /app/"


def test_continuation_with_comment_blank_and_trailing_spaces():
    text = "FROM a\nRUN apt-get update \\  \n    # a comment inside\n\n    && apt-get install -y curl\nUSER 1000\n"
    df = _parse(text)
    run = df.instructions[1]
    assert (run.start_line, run.end_line) == (2, 5)
    assert run.values == ["apt-get update     && apt-get install -y curl"]
    assert [c.line for c in run.comments] == [3]
    assert df.empty_continuation_lines == [4]
    # the word `curl` maps back to line 5, column 27
    i = run.rest.value.index("curl")
    assert _pos(df, run.rest.map.to_source(i)) == (5, 27)
    assert _at(df, run.rest.span(i, i + 4)) == "curl"
    assert df.instructions[2].start_line == 6


def test_escape_directive_backtick():
    df = _parse("# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  C:\\\\\nWORKDIR C:\\app\n")
    assert df.escape == "`"
    assert [d.name for d in df.directives] == ["escape"]
    run = df.instructions[1]
    assert (run.start_line, run.end_line) == (3, 4)
    assert df.instructions[2].values == ["C:\\app"]


def test_parser_directives_syntax_and_check():
    df = _parse("# syntax=docker/dockerfile:1\n# check=skip=JSONArgsRecommended\nFROM a\n")
    assert [(d.name, d.value, d.line) for d in df.directives] == [
        ("syntax", "docker/dockerfile:1", 1), ("check", "skip=JSONArgsRecommended", 2)]
    assert df.errors == []


def test_directive_after_instruction_is_a_comment():
    df = _parse("FROM a\n# escape=`\nRUN a `\n")
    assert df.directives == []
    assert df.escape == "\\"


def test_heredocs_spans_and_several_per_instruction():
    text = "FROM a\nRUN <<EOF cat >/x && cat <<-'E2'\necho one\nEOF\n\tsecond\n\tE2\nCMD x\n"
    df = _parse(text)
    run = df.instructions[1]
    assert (run.start_line, run.end_line) == (2, 6)
    first, second = run.heredocs
    assert (first.name, first.expand, first.chomp) == ("EOF", True, False)
    assert (second.name, second.expand, second.chomp) == ("E2", False, True)
    assert first.content == "echo one\n"
    assert _at(df, first.body_span) == "echo one\n"
    assert _at(df, first.terminator_span) == "EOF"
    assert _pos(df, second.terminator_span.start) == (6, 1)
    assert df.instructions[2].start_line == 7


def test_heredoc_with_interpreter_and_crlf():
    df = _parse("FROM a\r\nRUN python3 <<EOF\r\nprint('hi')\r\nEOF\r\n")
    run = df.instructions[1]
    assert run.values == ["python3 <<EOF"]
    assert run.heredocs[0].content == "print('hi')\r\n"
    assert run.end_line == 4
    assert df.errors == []


def test_unterminated_heredoc_is_a_syntax_error_at_the_instruction():
    df = _parse("FROM a\nRUN <<EOF\necho hi\n")
    assert [e.message for e in df.errors] == ["unterminated heredoc"]
    assert _pos(df, df.errors[0].span.start) == (2, 1)


def test_exec_form_and_invalid_json_fall_back_to_shell_form():
    df = _parse("FROM a\nCMD [\"python\", \"app.py\"]\nENTRYPOINT ['python','app.py']\n")
    cmd, ep = df.instructions[1:]
    assert cmd.is_json and cmd.values == ["python", "app.py"]
    assert _at(df, cmd.args[1].span) == '"app.py"'
    assert not ep.is_json and ep.values == ["['python','app.py']"]


def test_bom_no_final_newline_lowercase_keywords():
    src = SourceFile.from_bytes(b"\xef\xbb\xbffrom alpine\nrun echo hi", "Dockerfile")
    df = parse(src)
    assert src.bom == b"\xef\xbb\xbf"
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN"]
    assert [i.keyword_text for i in df.instructions] == ["from", "run"]
    assert _pos(df, df.instructions[1].span.end) == (2, 12)


def test_onbuild_and_healthcheck_none():
    df = _parse("FROM a\nONBUILD RUN pip install x\nHEALTHCHECK NONE\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1\n")
    onb, hc_none, hc = df.instructions[1:]
    assert onb.sub is not None and onb.sub.keyword == "RUN" and onb.values == ["pip install x"]
    assert hc_none.values == ["NONE"]
    assert hc.values == ["CMD", "curl -f http://localhost/ || exit 1"]
    assert hc.flag("interval").value == "5s"


def test_env_and_label_pairs_have_spans():
    df = _parse('FROM a\nENV A=1 B="two words"\nENV OLD value with spaces\n')
    env, old = df.instructions[1:]
    assert env.values == ["A", "1", "B", '"two words"']
    assert _at(df, env.args[3].span) == '"two words"'
    assert old.values == ["OLD", "value with spaces"]


def test_empty_and_comment_only_files_have_no_instructions():
    for text in ("", "# just a comment\n", "\n\n"):
        df = _parse(text)
        assert [e.message for e in df.errors] == ["file with no instructions"]


def test_unknown_instruction_and_wrong_from_arguments_are_syntax_errors():
    df = _parse("FROM a b\nFORM c\n")
    msgs = sorted(e.message for e in df.errors)
    assert msgs == ["FROM requires either one or three arguments", "unknown instruction: FORM"]


def test_multiline_python_string_marks_swallowed_lines():
    text = 'FROM python:3.10\nRUN python -c "\nfrom transformers import AutoModel\nprint(1)\n"\nCMD ["python"]\n'
    df = _parse(text)
    (run, close_line), = df.unterminated_strings
    assert run.start_line == 2 and close_line == 5
    assert [i.swallowed for i in df.instructions] == [False, False, True, True, True, False]
    assert [s.base for s in df.stages] == ["python:3.10"]
    assert df.errors == []  # MLD101 explains these lines; no MLD001 for the phantom FROM


def test_trailing_comment_is_modelled_without_the_comment():
    df = _parse("FROM python:3.11-slim  # small image\nCOPY requirements.txt /app/  # deps\n")
    frm, copy = df.instructions
    assert frm.trailing_comment is not None
    assert frm.values == ["python:3.11-slim"]
    assert frm.buildkit_args is not None and [a.value for a in frm.buildkit_args][-1] == "image"
    assert copy.values == ["requirements.txt", "/app/"]
    assert df.errors == []
    assert df.stages[0].base == "python:3.11-slim"


def test_hash_inside_quotes_or_urls_is_not_a_trailing_comment():
    df = _parse('FROM a\nENV A="x # y"\nADD http://example.com/#frag /x\nENV B=${C#pre}\n')
    assert [i.trailing_comment for i in df.instructions] == [None, None, None, None]


def test_fragment_without_from_is_an_implicit_stage():
    df = _parse("COPY . .\nRUN pip install -r requirements.txt\n")
    assert [s.index for s in df.stages] == [-1]
    assert len(df.stages[0].instructions) == 2


def test_global_args_form_the_preamble():
    df = _parse("ARG CUDA=12.1.1\nFROM nvidia/cuda:${CUDA}-runtime-ubuntu22.04\n")
    assert [i.keyword for i in df.preamble] == ["ARG"]
    assert [s.index for s in df.stages] == [0]


def test_latin1_bytes_survive_decoding():
    data = b"FROM a\n# caf\xe9\nRUN echo hi\n"
    src = SourceFile.from_bytes(data, "Dockerfile")
    df = parse(src)
    assert src.encode() == data
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN"]


def test_trailing_comment_on_env_is_not_also_a_syntax_error():
    df = _parse("FROM python:3.11\nENV A=1 # note\n")
    env = df.instructions[1]
    assert env.trailing_comment is not None and env.values == ["A", "1"]
    assert df.errors == []


def test_legacy_env_value_starting_with_hash_is_the_value():
    df = _parse("FROM a\nENV IRC_CHANNEL #general\n")
    env = df.instructions[1]
    assert env.trailing_comment is None
    assert env.values == ["IRC_CHANNEL", "#general"]
