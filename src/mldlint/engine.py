"""Run the selected rules over one file and turn their violations into diagnostics.

The engine is the only place that knows how a run over one file goes:

1. parse the source once (:func:`mldlint.parser.parse`); every ``ParseError`` becomes an MLD001
   diagnostic (when MLD001 is selected);
2. build the :class:`~mldlint.model.ImageModel` once (only if a selected rule will run);
3. run each selected check from :data:`mldlint.rules.base.CHECKS`, stamping the rule's ID, name,
   category and severity (the rule's default unless the violation sets one) on each violation;
4. apply suppressions (inline pragmas; see :func:`apply_suppressions`, a hook for now);
5. de-duplicate identical ``(rule, span, message)`` findings and sort by ``(line, column, rule)``.

Nothing a rule or the model does can end the run: a check that raises becomes one MLD004
finding for that rule (the other rules still run); a model that cannot be built becomes one
MLD004 finding (no rule runs then, since every rule reads the model; MLD001 is still reported).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .fixer import Fix
    from .parser.nodes import Dockerfile
    from .source import SourceFile

#: rule ID reported for syntax errors found by the parser.
SYNTAX_ERROR = "MLD001"
#: rule ID reported when a rule (or the model) crashes.
INTERNAL_ERROR = "MLD004"

#: metadata used when the registry has no entry for a rule (the registry is the source of truth;
#: these keep the engine usable on its own and for the two IDs the engine emits itself).
_BUILTIN_META: dict[str, tuple[str, str, str]] = {
    SYNTAX_ERROR: ("syntax-error", "error", "meta"),
    "MLD002": ("invalid-pragma", "error", "meta"),
    "MLD003": ("unused-pragma", "warning", "meta"),
    INTERNAL_ERROR: ("internal-error", "error", "meta"),
}

_CATEGORIES = {0: "meta", 1: "syntax", 2: "base-image", 3: "packages", 4: "layers",
               5: "security", 6: "runtime", 7: "ml"}

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class RuleInfo:
    """What the engine stamps on a diagnostic of one rule."""

    id: str
    name: str
    severity: str
    category: str


@dataclass
class Diagnostic:
    """One finding, ready for the reporters.

    Attributes:
        path: the file's path as shown to the user (``SourceFile.path``).
        rule: the rule ID (``MLD303``).
        name: the rule's kebab-case name.
        severity: ``error``, ``warning`` or ``info``.
        category: the rule's category (``packages``).
        message: what is wrong, naming the concrete thing.
        span: half-open ``(start, end)`` offsets into ``SourceFile.text``.
        line, column: 1-based position of ``span[0]`` (columns count code points).
        end_line, end_column: 1-based position one past the last character of the span.
        fix: an optional :class:`mldlint.fixer.Fix`.
    """

    path: str
    rule: str
    name: str
    severity: str
    category: str
    message: str
    span: tuple[int, int]
    line: int
    column: int
    end_line: int
    end_column: int
    fix: "Fix | None" = None
    #: ``None`` unless an inline pragma suppressed the finding (then its reason, maybe ``""``);
    #: suppressed findings are returned only with ``include_suppressed``.
    suppression: str | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.rule)

    @property
    def fixable(self) -> bool:
        """Whether ``--fix`` would apply this finding's fix (applicability ``safe``)."""
        return self.fix is not None and self.fix.applicability == "safe"


# ---------------------------------------------------------------------- metadata
_metas_cache: dict[str, Any] | None = None


def load_metas() -> dict[str, Any]:
    """The registry's rule metadata (``registry.load_all()``), loaded once per process.
    Empty when the registry cannot be loaded (the engine then uses its built-in fallbacks)."""
    global _metas_cache
    if _metas_cache is None:
        try:
            from . import registry

            _metas_cache = dict(registry.load_all())
        except ImportError:
            _metas_cache = {}
    return _metas_cache


def rule_info(rule_id: str, metas: Mapping[str, Any] | None = None) -> RuleInfo:
    """ID, name, default severity and category of ``rule_id`` from ``metas`` (the registry's
    ``RuleMeta`` objects), falling back to built-in values for rules without metadata."""
    meta = (metas if metas is not None else load_metas()).get(rule_id)
    if meta is not None:
        return RuleInfo(rule_id, meta.name, meta.severity, meta.category)
    if rule_id in _BUILTIN_META:
        name, sev, cat = _BUILTIN_META[rule_id]
        return RuleInfo(rule_id, name, sev, cat)
    try:
        category = _CATEGORIES.get(int(rule_id[3]), "meta")
    except (IndexError, ValueError):
        category = "meta"
    return RuleInfo(rule_id, rule_id.lower(), "warning", category)


# ---------------------------------------------------------------------- suppressions
def apply_suppressions(df: "Dockerfile | None", source: "SourceFile",
                       diagnostics: list[Diagnostic], selected: set[str], *,
                       inline: bool = True, include_suppressed: bool = False,
                       metas: Mapping[str, Any] | None = None,
                       make: Callable[..., Diagnostic] | None = None) -> list[Diagnostic]:
    """Apply inline pragmas (``# mldlint: ignore=...``, ``ignore-stage``, ``ignore-file``,
    hadolint's ``# hadolint ignore=`` / ``global ignore=``) and add MLD002/MLD003 findings
    (see :mod:`mldlint.suppressions`).

    Receives every diagnostic of the file (MLD001 and MLD004 included) after the rules ran and
    before de-duplication and sorting; returns the kept ones plus any MLD002/MLD003 findings
    (and, with ``include_suppressed``, the suppressed ones with ``suppression`` set).
    ``inline=False`` (``--no-inline-suppressions``) suppresses nothing. ``make(rule_id, message,
    span, fix=None)`` builds a diagnostic of this file (default: the rule's default severity).
    """
    if df is None:
        return diagnostics
    from .suppressions import apply

    if metas is None:
        metas = load_metas()
    if make is None:
        def make(rule_id: str, message: str, span: tuple[int, int],
                 fix: "Fix | None" = None) -> Diagnostic:
            return _diag(source, rule_info(rule_id, metas), message, span, None, fix)
    return apply(df, source, diagnostics, set(selected), make=make, metas=metas,
                 inline=inline, include_suppressed=include_suppressed)


# ---------------------------------------------------------------------- the run
def _import_rules() -> None:
    """Import the rule modules so that they register in ``CHECKS``."""
    try:
        from . import rules  # noqa: F401  (importing registers the checks)
    except ImportError:  # pragma: no cover - only while the rule package is incomplete
        pass


def _diag(source: "SourceFile", info: RuleInfo, message: str, span: tuple[int, int],
          severity: str | None = None, fix: "Fix | None" = None) -> Diagnostic:
    start, end = int(span[0]), int(span[1])
    n = len(source.text)
    start = max(0, min(start, n))
    end = max(start, min(end, n))
    line, column = source.position(start)
    end_line, end_column = source.position(end)
    return Diagnostic(
        path=source.path, rule=info.id, name=info.name,
        severity=severity if severity in SEVERITY_RANK else info.severity,
        category=info.category, message=message, span=(start, end), line=line, column=column,
        end_line=end_line, end_column=end_column, fix=fix)


def _crash_message(what: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return f"{what} crashed: {type(exc).__name__}{detail}"


def lint_source(source: "SourceFile", selected: Iterable[str], context_dir: str | None = None,
                *, metas: Mapping[str, Any] | None = None,
                options: Mapping[str, dict[str, Any]] | None = None,
                severity_overrides: Mapping[str, str] | None = None,
                inline_suppressions: bool = True,
                include_suppressed: bool = False,
                shellcheck: bool = False,
                shellcheck_ignore: Iterable[str] = ()) -> list[Diagnostic]:
    """Lint one file.

    Args:
        source: the file.
        selected: the rule IDs to report (from ``registry.select``).
        context_dir: the build context folder, or ``None``.
        metas: rule metadata by ID (default: ``registry.load_all()``).
        options: validated rule options by rule ID (default: none).
        severity_overrides: rule ID -> severity from configuration (default: none).
        inline_suppressions: honour inline pragmas (False: ``--no-inline-suppressions``).
        include_suppressed: also return the findings pragmas suppressed (``suppression`` set).
        shellcheck: also run ShellCheck over the RUN scripts (:mod:`mldlint.shellcheck`; its
            ``SC####`` findings are suppressible like any rule). Raises
            :class:`~mldlint.shellcheck.ShellCheckMissing` when the binary is not installed.
        shellcheck_ignore: ShellCheck codes (``SC2086``) whose findings are dropped (the
            configuration's ``ignore``).

    Returns:
        The diagnostics, de-duplicated and sorted by ``(line, column, rule)``.

    MLD004 (internal error) is always reported: a crash is a bug and must stay visible.
    """
    from .parser import parse
    from .rules.base import CHECKS, RuleContext

    _import_rules()
    selected = set(selected)
    if metas is None:
        metas = load_metas()
    overrides = dict(severity_overrides or {})
    infos: dict[str, RuleInfo] = {}

    def info_of(rule_id: str) -> RuleInfo:
        if rule_id not in infos:
            info = rule_info(rule_id, metas)
            if rule_id in overrides:
                info = RuleInfo(info.id, info.name, overrides[rule_id], info.category)
            infos[rule_id] = info
        return infos[rule_id]

    out: list[Diagnostic] = []
    try:
        df = parse(source)
    except Exception as exc:  # noqa: BLE001 - parse() must not raise; if it does, report it
        out.append(_diag(source, info_of(INTERNAL_ERROR), _crash_message("parser", exc), (0, 0)))
        return out

    if SYNTAX_ERROR in selected:
        for err in getattr(df, "errors", None) or ():
            out.append(_diag(source, info_of(SYNTAX_ERROR), err.message, tuple(err.span)))

    checks = [(rid, fn) for rid, fn in sorted(CHECKS.items()) if rid in selected]
    model: Any = None
    if checks:
        try:
            from .model import build_model

            model = build_model(df)
        except Exception as exc:  # noqa: BLE001 - every rule needs the model: none runs
            out.append(_diag(source, info_of(INTERNAL_ERROR),
                             _crash_message("image model", exc), (0, 0)))
            checks = []
        options = options or {}
        for rule_id, fn in checks:
            ctx = RuleContext(source=source, options=dict(options.get(rule_id, {})),
                              context_dir=context_dir)
            found: list[Diagnostic] = []
            try:
                for v in fn(df, model, ctx) or ():
                    sev = overrides.get(rule_id) or v.severity
                    found.append(_diag(source, info_of(rule_id), v.message, tuple(v.span), sev,
                                       v.fix))
            except Exception as exc:  # noqa: BLE001 - one rule must never kill the run
                # a crashing rule's partial output is dropped: it may be wrong
                out.append(_diag(source, info_of(INTERNAL_ERROR),
                                 _crash_message(f"rule {rule_id}", exc), (0, 0)))
                continue
            out.extend(found)

    def make(rule_id: str, message: str, span: tuple[int, int],
             fix: "Fix | None" = None) -> Diagnostic:
        return _diag(source, info_of(rule_id), message, span, None, fix)

    if shellcheck:
        selected = selected | _run_shellcheck(df, model, source, out, overrides,
                                              frozenset(shellcheck_ignore))

    out = apply_suppressions(df, source, out, selected, inline=inline_suppressions,
                             include_suppressed=include_suppressed, metas=metas, make=make)

    seen: set[tuple[str, tuple[int, int], str]] = set()
    unique: list[Diagnostic] = []
    for d in out:
        key = (d.rule, d.span, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    unique.sort(key=lambda d: d.sort_key)
    return unique


def _run_shellcheck(df: "Dockerfile", model: Any, source: "SourceFile", out: list[Diagnostic],
                    overrides: Mapping[str, str], ignored: frozenset[str] = frozenset()
                    ) -> set[str]:
    """Add ShellCheck's findings to ``out``; returns the marker added to the rules that ran
    (unused ``SC`` pragmas are reported only then). A failing ShellCheck is one MLD004."""
    from . import shellcheck as sc

    binary = sc.require_binary()
    if model is None:
        try:
            from .model import build_model

            model = build_model(df)
        except Exception:  # noqa: BLE001 - reported by the rules' run when one is selected
            return set()

    def make(code: str, severity: str, message: str, span: tuple[int, int]) -> Diagnostic:
        info = RuleInfo(code, sc.NAME, overrides.get(code, severity), sc.CATEGORY)
        return _diag(source, info, message, span, info.severity)

    try:
        out.extend(d for d in sc.findings(df, model, make, binary) if d.rule not in ignored)
    except sc.ShellCheckFailed as exc:
        out.append(_diag(source, rule_info(INTERNAL_ERROR), f"ShellCheck failed: {exc}", (0, 0)))
    return {sc.NAME}
