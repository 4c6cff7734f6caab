"""Helpers several rule modules share (not rules themselves)."""

from __future__ import annotations

from ..parser.nodes import Span


def span_of_words(first, last) -> Span:
    """The source span from the start of word ``first`` to the end of word ``last`` (both
    :class:`~mldlint.parser.shell.Word`)."""
    return Span(first.span.start, last.span.end)


def source_is(ctx, span: Span, text: str) -> bool:
    """The source at ``span`` (character offsets) reads exactly ``text``, so an edit at or next
    to it lands where the rule thinks (not inside a variable, a continuation or a ``sh -c``
    string whose words map elsewhere)."""
    return ctx.source.text[span.start:span.end] == text
