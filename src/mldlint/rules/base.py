"""What a rule is: its metadata (from ``rules/<ID>.yaml``), the context it receives and the
violations it yields.

A rule module defines one or more functions decorated with :func:`rule`::

    @rule("MLD303")
    def check(df: Dockerfile, model: ImageModel, ctx: RuleContext) -> Iterator[Violation]:
        ...
        yield Violation(span, "apt-get install of curl without --no-install-recommends")

Rules are pure generators: no I/O except through ``ctx``, no global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from ..fixer import Fix
    from ..model import ImageModel
    from ..parser.nodes import Dockerfile, Span
    from ..source import SourceFile


@dataclass
class Violation:
    """One finding as a rule yields it.

    Attributes:
        span: source span (offsets into ``SourceFile.text``, half-open) of the offending text.
        message: names the concrete thing (package, image, path) and, for size rules, the cost.
        severity: ``None`` for the rule's default; only rules marked ``E/W`` in RULES.md set it.
        fix: an optional :class:`mldlint.fixer.Fix`.
    """

    span: "Span"
    message: str
    severity: str | None = None
    fix: "Fix | None" = None


@dataclass
class RuleContext:
    """What a rule may look at besides the tree and the model.

    Attributes:
        source: the file's :class:`~mldlint.source.SourceFile`.
        options: the rule's validated options (empty dict when none).
        context_dir: the build context folder (``None`` for stdin or when unknown); rules read it
            only through :meth:`read_context_file` / :meth:`context_exists`.
    """

    source: "SourceFile"
    options: dict[str, Any] = field(default_factory=dict)
    context_dir: str | None = None

    def context_exists(self, relpath: str) -> bool:
        """Whether ``relpath`` exists in the build context (False when there is none)."""
        import os

        if not self.context_dir:
            return False
        return os.path.lexists(os.path.join(self.context_dir, relpath))

    def read_context_file(self, relpath: str) -> str | None:
        """Text of a build-context file, or ``None`` when absent or unreadable."""
        import os

        if not self.context_dir:
            return None
        try:
            with open(os.path.join(self.context_dir, relpath), encoding="utf-8",
                      errors="surrogateescape") as fh:
                return fh.read()
        except OSError:
            return None


CheckFn = Callable[["Dockerfile", "ImageModel", RuleContext], Iterator[Violation]]

#: rule ID -> check function, filled by :func:`rule` when the rule modules are imported.
CHECKS: dict[str, CheckFn] = {}


def rule(rule_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of ``rule_id`` (which must have a ``rules/<ID>.yaml``).

    Raises:
        ValueError: the ID is registered twice.
    """

    def deco(fn: CheckFn) -> CheckFn:
        if rule_id in CHECKS:
            raise ValueError(f"rule {rule_id} registered twice")
        CHECKS[rule_id] = fn
        return fn

    return deco
