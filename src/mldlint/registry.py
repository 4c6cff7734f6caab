"""Rule metadata: ``rules/<ID>.yaml`` loaded, validated and selected.

Metadata is data (DESIGN.md): each rule's id, name, title, severity, category, fix
applicabilities, rationale, what it deliberately does not flag, examples and references live in
one YAML file per rule. The files sit in the repository's top-level ``rules/`` folder and are
packaged into the wheel as ``mldlint/_rules``. Docs, ``mldlint rules``, ``mldlint explain``, the
README rule table and SARIF ``tool.driver.rules`` are all generated from :func:`load_all`.

Selection follows ruff: a selector is a rule ID (``MLD303``), a rule name
(``apt-no-install-recommends``), a category (``packages``), an ID prefix (``MLD3``, ``MLD30``)
or ``ALL``. :func:`select` applies ``select`` (replaces the default set), ``extend_select``
(adds) and ``ignore`` (removes); when a rule is matched by both a selector and an ignore, the
more specific one wins, and at equal specificity ignore wins (``--select packages --ignore
MLD303`` drops MLD303; ``--select MLD303 --ignore packages`` keeps it).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

# Defined here, not in ``mldlint.rules``: importing that package imports every rule module,
# which metadata-only commands (``mldlint rules``, ``explain``, docs) should not pay for.
SEVERITIES = ("error", "warning", "info")
CATEGORIES = {
    0: "meta",
    1: "syntax",
    2: "base-image",
    3: "packages",
    4: "layers",
    5: "security",
    6: "runtime",
    7: "ml",
}

__all__ = [
    "APPLICABILITIES",
    "CATEGORIES",
    "SEVERITIES",
    "ENGINE_RULES",
    "RuleMeta",
    "default_selection",
    "implemented",
    "load_all",
    "load_dir",
    "orphan_checks",
    "resolve_selectors",
    "rules_dir",
    "select",
]

#: Fix applicabilities a rule's ``fix`` list may contain, strongest first.
APPLICABILITIES = ("safe", "unsafe", "suggest")

#: Rules produced by the engine itself (parse errors, crashed rules), not by check functions.
ENGINE_RULES = frozenset({"MLD001", "MLD002", "MLD003", "MLD004"})

_ID_RE = re.compile(r"^MLD[0-9]{3}$")
_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PREFIX_RE = re.compile(r"^MLD[0-9]{0,2}$")

_REQUIRED = (
    "id", "name", "title", "severity", "category", "fix", "default_enabled", "tier", "peers",
    "rationale", "not_flagged", "examples", "references",
)
_OPTIONAL = ("fix_notes", "options")
_EXAMPLE_KEYS = {"bad", "good", "fixed", "fixed_files", "context", "context_files", "note",
                 "options"}


@dataclass(frozen=True)
class RuleMeta:
    """The metadata of one rule, as written in ``rules/<ID>.yaml``.

    Attributes:
        id: ``MLDnnn``; the hundreds digit is the category.
        name: kebab-case name, unique, usable wherever an ID is (selectors, pragmas).
        title: one line, sentence case.
        severity: default severity, one of ``error``, ``warning``, ``info``.
        category: ``meta``, ``syntax``, ``base-image``, ``packages``, ``layers``, ``security``,
            ``runtime`` or ``ml``.
        fix: the applicabilities (``safe``/``unsafe``/``suggest``) the rule's fixes may have;
            empty when the rule never offers a fix.
        default_enabled: False for rules that run only when selected.
        tier: 1, 2 or 3 (RULES.md).
        peers: the nearest equivalents elsewhere (hadolint ``DLxxxx``, BuildKit check names,
            Trivy ``DS-xxxx``).
        rationale: why it matters.
        not_flagged: what the rule deliberately does not flag.
        fix_notes: fix safety notes ("" when the rule has no fix).
        examples: dicts with ``bad`` and/or ``good`` (complete Dockerfiles), optionally
            ``fixed`` (the exact text after ``--fix``), ``fixed_files`` (build-context path ->
            exact text after ``--fix``, for fixes that write a second file such as
            ``.dockerignore``), ``options`` (rule options the example is
            linted with), ``context_files`` (build-context files
            a test must create, ``{}`` for an empty context) and ``context``.
        references: URLs.
        options: the rule's option defaults (``{}`` when it takes none).
    """

    id: str
    name: str
    title: str
    severity: str
    category: str
    fix: tuple[str, ...]
    default_enabled: bool
    tier: int
    peers: tuple[str, ...]
    rationale: str
    not_flagged: str
    fix_notes: str
    examples: list[dict[str, Any]]
    references: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # examples/options are unhashable; the ID identifies a rule
        return hash(self.id)

    @property
    def fixable(self) -> bool:
        """Whether the rule may offer any fix."""
        return bool(self.fix)


# --------------------------------------------------------------------------- loading


def rules_dir() -> Path:
    """The folder holding the rule YAML files.

    ``mldlint/_rules`` inside the installed package (wheel), else the repository's top-level
    ``rules/`` (two levels above ``src/mldlint``, for source checkouts and editable installs).
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_rules"  # a regular install (importlib.resources costs start-up time)
    if packaged.is_dir():
        return packaged
    checkout = here.parents[1] / "rules"
    if checkout.is_dir():
        return checkout
    try:  # another kind of installation (a loader with resources)
        from importlib.resources import files

        packaged_res = files("mldlint") / "_rules"
        if packaged_res.is_dir():
            return Path(str(packaged_res))
    except (ModuleNotFoundError, TypeError, NotImplementedError):  # pragma: no cover
        pass
    return checkout


@functools.lru_cache(maxsize=None)
def load_all() -> dict[str, RuleMeta]:
    """All rule metadata, keyed and ordered by ID (cached; do not mutate the result).

    Raises:
        ValueError: a YAML file is invalid (the message names the file), or the folder is missing.
    """
    folder = rules_dir()
    if not folder.is_dir():
        return load_dir(folder)  # raises the error
    from .cache import cached

    # the validated metadata is pickled between runs (YAML parsing dominates start-up); this
    # module is part of the key, since it defines what a RuleMeta holds
    files = sorted(folder.glob("*.yaml")) + [Path(__file__)]
    return cached("rules", files, lambda: load_dir(folder))


def load_dir(path: str | Path) -> dict[str, RuleMeta]:
    """Load and validate every ``MLD*.yaml`` in ``path`` (uncached), ordered by ID."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"rule metadata folder not found: {folder}")
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    metas: dict[str, RuleMeta] = {}
    names: dict[str, str] = {}
    for file in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.load(file.read_text(encoding="utf-8"))
        except Exception as exc:  # ruamel raises many types; all mean "not valid YAML"
            raise ValueError(f"{file.name}: not valid YAML: {exc}") from exc
        meta = _validate(file.name, data)
        if meta.name in names:
            raise ValueError(
                f"{file.name}: name {meta.name!r} already used by {names[meta.name]}"
            )
        names[meta.name] = meta.id
        metas[meta.id] = meta
    return dict(sorted(metas.items()))


def _validate(filename: str, data: Any) -> RuleMeta:
    def bad(msg: str) -> ValueError:
        return ValueError(f"{filename}: {msg}")

    if not isinstance(data, dict):
        raise bad("top level must be a mapping")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise bad(f"missing keys: {', '.join(missing)}")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise bad(f"unknown keys: {', '.join(map(str, unknown))}")

    rid = data["id"]
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise bad(f"id {rid!r} is not of the form MLDnnn")
    if filename != f"{rid}.yaml":
        raise bad(f"id {rid} does not match the file name")
    name = data["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise bad(f"name {name!r} is not kebab-case")
    if name.upper() == "ALL" or name in CATEGORIES.values():
        raise bad(f"name {name!r} clashes with a selector keyword or category")
    title = data["title"]
    if not isinstance(title, str) or not title.strip() or "\n" in title.strip():
        raise bad("title must be one non-empty line")
    severity = data["severity"]
    if severity not in SEVERITIES:
        raise bad(f"severity {severity!r} not one of {', '.join(SEVERITIES)}")
    category = data["category"]
    if category not in CATEGORIES.values():
        raise bad(f"category {category!r} not one of {', '.join(CATEGORIES.values())}")
    expected_cat = CATEGORIES.get(int(rid[3]))
    if expected_cat is None:
        raise bad(f"id {rid}: hundreds digit {rid[3]} is not a category")
    if category != expected_cat:
        raise bad(f"category {category!r} does not match the ID (expected {expected_cat!r})")
    fix = data["fix"]
    if not isinstance(fix, list) or any(f not in APPLICABILITIES for f in fix):
        raise bad(f"fix must be a list of {', '.join(APPLICABILITIES)} (got {fix!r})")
    if len(set(fix)) != len(fix):
        raise bad("fix lists an applicability twice")
    fix_t = tuple(a for a in APPLICABILITIES if a in fix)
    if not isinstance(data["default_enabled"], bool):
        raise bad("default_enabled must be true or false")
    tier = data["tier"]
    if isinstance(tier, bool) or tier not in (1, 2, 3):
        raise bad(f"tier must be 1, 2 or 3 (got {tier!r})")
    peers = data["peers"]
    if not isinstance(peers, list) or not all(isinstance(p, str) and p for p in peers):
        raise bad("peers must be a list of strings")
    for key in ("rationale", "not_flagged"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise bad(f"{key} must be non-empty text")
    fix_notes = data.get("fix_notes") or ""
    if not isinstance(fix_notes, str):
        raise bad("fix_notes must be text")
    if fix_t and not fix_notes.strip():
        raise bad("fix_notes is required when fix is not empty")
    refs = data["references"]
    if not isinstance(refs, list) or not all(
        isinstance(r, str) and r.startswith(("https://", "http://")) for r in refs
    ):
        raise bad("references must be a list of http(s) URLs")
    examples = data["examples"]
    if not isinstance(examples, list):
        raise bad("examples must be a list")
    for i, ex in enumerate(examples):
        where = f"examples[{i}]"
        if not isinstance(ex, dict):
            raise bad(f"{where} must be a mapping")
        extra = sorted(set(ex) - _EXAMPLE_KEYS)
        if extra:
            raise bad(f"{where}: unknown keys: {', '.join(map(str, extra))}")
        if "bad" not in ex and "good" not in ex:
            raise bad(f"{where} needs bad or good")
        for k in ("bad", "good", "fixed", "context", "note"):
            if k in ex and (not isinstance(ex[k], str) or (k != "fixed" and not ex[k].strip())):
                raise bad(f"{where}.{k} must be text")
        if "fixed" in ex and "bad" not in ex:
            raise bad(f"{where}.fixed needs a bad example")
        if "fixed" in ex and not fix_t:
            raise bad(f"{where}.fixed given but the rule has no fix")
        ff = ex.get("fixed_files")
        if ff is not None:
            if "bad" not in ex or not fix_t:
                raise bad(f"{where}.fixed_files needs a bad example and a rule with a fix")
            if not (isinstance(ff, dict) and ff and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in ff.items())):
                raise bad(f"{where}.fixed_files must map build-context paths to text")
        cf = ex.get("context_files")
        if cf is not None and not (
            isinstance(cf, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in cf.items())
        ):
            raise bad(f"{where}.context_files must map relative paths to text")
        if "options" in ex and not isinstance(ex["options"], dict):
            raise bad(f"{where}.options must map the rule's options to values")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise bad("options must be a mapping")

    return RuleMeta(
        id=rid,
        name=name,
        title=title.strip(),
        severity=severity,
        category=category,
        fix=fix_t,
        default_enabled=data["default_enabled"],
        tier=tier,
        peers=tuple(peers),
        rationale=data["rationale"],
        not_flagged=data["not_flagged"],
        fix_notes=fix_notes,
        examples=[dict(ex) for ex in examples],
        references=tuple(refs),
        options=dict(options),
    )


# --------------------------------------------------------------------------- checks


def _import_checks() -> dict[str, Any]:
    import importlib

    importlib.import_module("mldlint.rules")  # its __init__ imports every rule module
    from .rules.base import CHECKS

    return CHECKS


def implemented(metas: Mapping[str, RuleMeta] | None = None) -> dict[str, RuleMeta]:
    """Metadata of the rules that can fire: those with a registered check function, plus the
    engine's own MLD001 and MLD004. Ordered by ID."""
    metas = load_all() if metas is None else metas
    checks = _import_checks()
    return {rid: m for rid, m in metas.items() if rid in checks or rid in ENGINE_RULES}


def orphan_checks(metas: Mapping[str, RuleMeta] | None = None) -> list[str]:
    """IDs registered with ``@rule`` that have no ``rules/<ID>.yaml`` (always a bug)."""
    metas = load_all() if metas is None else metas
    return sorted(rid for rid in _import_checks() if rid not in metas)


# --------------------------------------------------------------------------- selection

# Specificity levels (ruff's order): ALL < the bare prefix MLD < category / MLDn < MLDnn < rule.
_SPEC_ALL, _SPEC_MLD, _SPEC_CATEGORY, _SPEC_PREFIX2, _SPEC_RULE = range(5)


#: a ShellCheck code (``SC2086``): accepted where rules are ignored (``--ignore``, ``ignore:``,
#: ``per-file-ignores``), where it drops that code's ``--shellcheck`` findings
SHELLCHECK_CODE_RE = re.compile(r"SC\d{4}", re.I)


def shellcheck_codes(selectors: Iterable[str]) -> set[str]:
    """The ShellCheck codes among ``selectors``, upper-cased (``sc2086`` -> ``SC2086``)."""
    return {s.strip().upper() for s in selectors
            if isinstance(s, str) and SHELLCHECK_CODE_RE.fullmatch(s.strip())}


def _match(selector: str, metas: Mapping[str, RuleMeta],
           ignoring: bool = False) -> tuple[int, set[str]]:
    """(specificity, IDs) of one selector; a ShellCheck code matches no rule ID and is allowed
    only when ``ignoring``. Raises ValueError when it matches nothing."""
    if not isinstance(selector, str):
        raise ValueError(f"unknown rule selector: {selector!r}")
    s = selector.strip()
    upper = s.upper()
    if ignoring and SHELLCHECK_CODE_RE.fullmatch(upper):
        return _SPEC_RULE, set()
    if upper == "ALL":
        return _SPEC_ALL, set(metas)
    if upper in metas:
        return _SPEC_RULE, {upper}
    by_name = {m.name: rid for rid, m in metas.items()}
    if s.lower() in by_name:
        return _SPEC_RULE, {by_name[s.lower()]}
    if s.lower() in CATEGORIES.values():
        ids = {rid for rid, m in metas.items() if m.category == s.lower()}
        if ids:
            return _SPEC_CATEGORY, ids
    if _PREFIX_RE.match(upper):
        ids = {rid for rid in metas if rid.startswith(upper)}
        if ids:
            spec = {3: _SPEC_MLD, 4: _SPEC_CATEGORY, 5: _SPEC_PREFIX2}[len(upper)]
            return spec, ids
    raise ValueError(f"unknown rule selector: {selector!r}")


def resolve_selectors(
    selectors: Iterable[str], metas: Mapping[str, RuleMeta] | None = None,
    ignoring: bool = False,
) -> set[str]:
    """IDs matched by any of ``selectors`` (IDs, names, categories, ID prefixes, ``ALL``; when
    ``ignoring``, also ShellCheck codes, which match no ID).

    IDs, prefixes and ``ALL`` are case-insensitive. Raises ValueError naming the first selector
    that matches no rule.
    """
    metas = load_all() if metas is None else metas
    out: set[str] = set()
    for sel in selectors:
        out |= _match(sel, metas, ignoring)[1]
    return out


def default_selection(metas: Mapping[str, RuleMeta] | None = None) -> set[str]:
    """IDs of the rules that run when nothing is selected."""
    metas = load_all() if metas is None else metas
    return {rid for rid, m in metas.items() if m.default_enabled}


def select(
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    extend_select: Iterable[str] | None = None,
    metas: Mapping[str, RuleMeta] | None = None,
) -> set[str]:
    """The enabled rule IDs (ruff's semantics).

    ``select`` (``None`` = the default set) replaces the base set, ``extend_select`` adds to it,
    ``ignore`` removes. Selectors are applied from least to most specific (``ALL`` < ``MLD`` <
    category or ``MLDn`` < ``MLDnn`` < rule ID or name); at one level additions come first and
    ignores second, so the more specific selector wins and ties go to ignore.

    Raises:
        ValueError: a selector matches no rule.
    """
    metas = load_all() if metas is None else metas
    enabled: set[str] = default_selection(metas) if select is None else set()
    adds: dict[int, set[str]] = {}
    removes: dict[int, set[str]] = {}
    for sel in list(select or ()) + list(extend_select or ()):
        spec, ids = _match(sel, metas)
        adds.setdefault(spec, set()).update(ids)
    for sel in ignore or ():
        spec, ids = _match(sel, metas, ignoring=True)
        removes.setdefault(spec, set()).update(ids)
    for spec in range(_SPEC_RULE + 1):
        enabled |= adds.get(spec, set())
        enabled -= removes.get(spec, set())
    return enabled
