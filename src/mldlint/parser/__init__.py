"""Dockerfile parsing: :func:`parse` turns a :class:`~mldlint.source.SourceFile` into a
:class:`~mldlint.parser.nodes.Dockerfile` with exact spans."""

from .lexer import parse

__all__ = ["parse"]
