"""Configuration files: discovery, loading, validation and precedence.

A configuration is ``.mldlint.yaml`` / ``.mldlint.yml`` or the ``[tool.mldlint]`` table of
``pyproject.toml``. For each linted file it is looked for in the file's folder, then each parent
up to the repository root (the first folder holding ``.git``; the file system root when there is
none); in each folder ``.mldlint.yaml``, ``.mldlint.yml`` and ``pyproject.toml`` (only with a
``[tool.mldlint]`` table) are tried in that order, and the first found wins (configurations are
not merged). ``--config PATH`` replaces discovery; ``--isolated`` ignores configuration files.

Keys (every one optional)::

    select: [MLD3, ml]              # replaces the default rule set
    ignore: [MLD311]
    extend-select: [MLD202]
    per-file-ignores: {"legacy/**": [MLD501], "Dockerfile.dev": [security]}
    exclude: ["third_party/", "**/vendor/**"]      # files skipped when folders are walked
    fail-on: error                  # error | warning | info | never
    rules: {MLD310: {severity: info}, pip-unpinned: {severity: error}}
    trusted-registries: [docker.io, nvcr.io]        # MLD206's option trusted-registries
    build-context: docker/          # relative to the configuration file's folder
    shellcheck: true                # run ShellCheck over RUN scripts (mldlint[shellcheck])

Globs (``per-file-ignores``, ``exclude``) are gitignore-style patterns (pathspec) matched
against paths relative to the configuration file's folder.

Precedence: built-in defaults < configuration file < command line < inline pragmas. The command
line's ``--select`` replaces the configuration's selection (ruff's layering); ``--ignore`` and
``--extend-select`` apply on top of it.

YAML is read with ruamel.yaml's round-trip loader (it knows the line and column of every key
and value, and never constructs Python objects: explicit tags are rejected); TOML with
``tomllib`` (``tomli`` on Python 3.10). A problem is a :class:`ConfigError` whose text is
``file:line:col: message`` naming what was expected; the CLI exits 2 with it.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

CONFIG_FILES = (".mldlint.yaml", ".mldlint.yml", "pyproject.toml")
FAIL_ON = ("error", "warning", "info", "never")
SEVERITIES = ("error", "warning", "info")
KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "exclude", "fail-on", "rules",
        "trusted-registries", "build-context", "shellcheck")
#: the rule and option that ``trusted-registries`` configures.
TRUSTED_REGISTRIES_RULE = "MLD206"
TRUSTED_REGISTRIES_OPTION = "trusted-registries"


class ConfigError(Exception):
    """An invalid configuration. ``str()`` is ``file:line:col: message``."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path, self.line, self.column, self.message = path, line, column, message
        super().__init__(f"{path}:{line}:{column}: {message}")


@dataclass
class Config:
    """A loaded, validated configuration (or the empty one when no file applies)."""

    path: str | None = None
    root: str = "."
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: list[tuple[Any, list[str]]] = field(default_factory=list)
    exclude: Any = None
    fail_on: str | None = None
    severities: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    build_context: str | None = None
    shellcheck: bool | None = None

    def _rel(self, path: str) -> str | None:
        try:
            rel = os.path.relpath(os.path.abspath(path), self.root)
        except ValueError:  # another drive
            return None
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return None
        return rel.replace(os.sep, "/")

    def excludes(self, path: str) -> bool:
        """Whether ``exclude`` matches ``path`` (relative to the configuration's folder)."""
        if self.exclude is None:
            return False
        rel = self._rel(path)
        return rel is not None and self.exclude.match_file(rel)

    def ignored_for(self, path: str) -> list[str]:
        """Selectors ``per-file-ignores`` applies to ``path``."""
        rel = self._rel(path)
        if rel is None:
            return []
        out: list[str] = []
        for spec, selectors in self.per_file_ignores:
            if spec.match_file(rel):
                out.extend(selectors)
        return out


# ---------------------------------------------------------------------- positions
Where = Callable[[tuple[Any, ...], str], tuple[int, int]]


def _yaml_where(doc: Any) -> Where:
    """Positions in a ruamel round-trip document: ``where(path, "key"|"value")``."""

    def where(path: tuple[Any, ...], what: str = "key") -> tuple[int, int]:
        node = doc
        pos = (1, 1)
        for i, part in enumerate(path):
            last = i == len(path) - 1
            lc = getattr(node, "lc", None)
            try:
                if isinstance(part, int):
                    line, col = lc.item(part)
                elif last and what == "value":
                    line, col = lc.value(part)
                else:
                    line, col = lc.key(part)
                pos = (line + 1, col + 1)
                node = node[part]
            except Exception:  # noqa: BLE001 - no position: keep the parent's
                break
        return pos

    return where


def _toml_where(text: str, table_line: int) -> Where:
    """Approximate positions in ``pyproject.toml`` (tomllib keeps none): the first line after
    ``[tool.mldlint`` naming the innermost key."""
    lines = text.splitlines()

    def where(path: tuple[Any, ...], what: str = "key") -> tuple[int, int]:
        keys = [p for p in path if isinstance(p, str)]
        for key in reversed(keys):
            pat = re.compile(r'(^|[\s{,.\[])("?)' + re.escape(key) + r'\2\s*[=\].]')
            for n in range(table_line - 1, len(lines)):
                m = pat.search(lines[n])
                if m:
                    return n + 1, m.start() + len(m.group(1)) + 1
        return table_line, 1

    return where


# ---------------------------------------------------------------------- loading
def _load_yaml(path: str, text: str) -> tuple[Any, Where]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(path, line, col, f"invalid YAML: {problem}") from None
    except Exception as exc:  # noqa: BLE001 - ruamel raises many types
        raise ConfigError(path, 1, 1, f"invalid YAML: {exc}") from None
    where = _yaml_where(doc)
    _reject_tags(path, doc, where, ())
    return doc, where


def _reject_tags(path: str, node: Any, where: Where, at: tuple[Any, ...]) -> None:
    from ruamel.yaml.comments import TaggedScalar

    tag = getattr(node, "tag", None)
    value = getattr(tag, "value", None) if tag is not None and not isinstance(tag, str) else tag
    if isinstance(node, TaggedScalar) or value:
        line, col = where(at, "value") if at else (1, 1)
        raise ConfigError(path, line, col, f"YAML tag {value or '?'} is not allowed "
                          "(expected plain strings, numbers, booleans, lists and mappings)")
    if isinstance(node, dict):
        for k, v in node.items():
            _reject_tags(path, v, where, at + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _reject_tags(path, v, where, at + (i,))


def _load_toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def _pyproject_table(path: str) -> tuple[Any, Where] | None:
    """``[tool.mldlint]`` of a pyproject.toml (``None`` when it has none)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if b"mldlint" not in raw:  # cheap pre-check: most pyproject.toml files have no table
        return None
    text = raw.decode("utf-8", "replace")
    tomllib = _load_toml_module()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        if m is None and "at end of document" in str(exc):
            lines = text.split("\n")
            line, col = len(lines), len(lines[-1]) + 1
        msg = re.sub(r"\s*\((?:at line \d+, column \d+|at end of document)\)", "",
                     str(exc))
        raise ConfigError(path, line, col, f"invalid TOML: {msg}") from None
    tool = data.get("tool")
    if not isinstance(tool, dict) or "mldlint" not in tool:
        return None
    table_line = 1
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if re.match(r"\s*\[\s*tool\s*\.\s*mldlint\s*[\].]", line):
            table_line = n
            break
    else:  # `mldlint = ...` under [tool], or a dotted `tool.mldlint = ...` key
        for n, line in enumerate(lines, 1):
            if re.match(r"\s*(?:tool\s*\.\s*)?mldlint\s*[=.]", line):
                table_line = n
                break
    return tool["mldlint"], _toml_where(text, table_line)


def has_config(path: str) -> bool:
    """Whether ``path`` is a configuration file mldlint would use."""
    if os.path.basename(path) == "pyproject.toml":
        try:
            return _pyproject_table(path) is not None
        except (OSError, ConfigError):
            return True  # report its problem when it is loaded
    return os.path.isfile(path)


def load(path: str, metas: Mapping[str, Any] | None = None) -> Config:
    """Load and validate the configuration file ``path``.

    Raises:
        ConfigError: unreadable, not valid YAML/TOML, or invalid content.
    """
    shown = _shown(path)
    try:
        if os.path.basename(path) == "pyproject.toml" or path.endswith(".toml"):
            found = _pyproject_table(path)
            if found is None:
                raise ConfigError(shown, 1, 1, "no [tool.mldlint] table")
            data, where = found
        else:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
            data, where = _load_yaml(shown, text)
    except OSError as exc:
        raise ConfigError(shown, 1, 1, f"cannot read the configuration: "
                          f"{exc.strerror or exc}") from None
    except ConfigError as exc:
        if exc.path != shown:
            raise ConfigError(shown, exc.line, exc.column, exc.message) from None
        raise
    if metas is None:
        from .registry import load_all

        metas = load_all()
    return _validate(shown, os.path.dirname(os.path.abspath(path)), data, where, metas)


def _shown(path: str) -> str:
    from .reporters import display_path

    return display_path(path)


# ---------------------------------------------------------------------- validation
def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _validate(path: str, root: str, data: Any, where: Where,
              metas: Mapping[str, Any]) -> Config:
    from . import registry

    def fail(at: tuple[Any, ...], message: str, what: str = "key") -> ConfigError:
        line, col = where(at, what)
        return ConfigError(path, line, col, message)

    cfg = Config(path=path, root=root)
    if data is None:
        return cfg
    if not isinstance(data, dict):
        raise fail((), f"the configuration must be a mapping of keys "
                   f"({', '.join(KEYS)}), not {_type_name(data)}", "value")
    for key in data:
        if key not in KEYS:
            raise fail((key,), f"unknown key {key!r}{_suggest(key, KEYS)}; expected one of: "
                       f"{', '.join(KEYS)}")

    def selectors(at: tuple[Any, ...], value: Any, ignoring: bool = False) -> list[str]:
        if isinstance(value, str):
            items = [(i, p.strip()) for i, p in enumerate(value.split(",")) if p.strip()]
            positions = [at] * len(items)
        elif isinstance(value, list):
            items = list(enumerate(value))
            positions = [at + (i,) for i in range(len(value))]
        else:
            raise fail(at, f"{'.'.join(map(str, at))} must be a list of rule IDs, names, "
                       f"categories, ID prefixes or ALL, not {_type_name(value)}", "value")
        out: list[str] = []
        for (_, sel), pos in zip(items, positions):
            if not isinstance(sel, str):
                raise fail(pos, f"expected a rule selector (string), not {_type_name(sel)}",
                           "value" if pos == at else "key")
            try:
                registry.resolve_selectors([sel], metas, ignoring)
            except ValueError:
                names = list(metas) + [m.name for m in metas.values()]
                raise fail(pos, f"unknown rule selector {sel!r}{_suggest(sel, names)}; "
                           "expected a rule ID (MLD310), name (pip-no-cache-dir), category "
                           f"({', '.join(registry.CATEGORIES.values())}), ID prefix (MLD3) or "
                           "ALL", "value" if pos == at else "key") from None
            out.append(sel)
        return out

    def strings(at: tuple[Any, ...], value: Any, what: str, one: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise fail(at, f"{at[-1]} must be a list of {what}, not {_type_name(value)}",
                       "value")
        for i, v in enumerate(value):
            if not isinstance(v, str) or not v.strip():
                raise fail(at + (i,), f"expected {one} (a non-empty string), "
                           f"not {_type_name(v)}")
        return [str(v) for v in value]

    def spec(patterns: list[str]) -> Any:
        import pathspec

        return pathspec.PathSpec.from_lines("gitignore", patterns)

    if "select" in data:
        cfg.select = selectors(("select",), data["select"])
    if "ignore" in data:
        cfg.ignore = selectors(("ignore",), data["ignore"], ignoring=True)
    if "extend-select" in data:
        cfg.extend_select = selectors(("extend-select",), data["extend-select"])
    if "per-file-ignores" in data:
        pfi = data["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise fail(("per-file-ignores",), "per-file-ignores must be a mapping of glob "
                       f"-> rules, not {_type_name(pfi)}", "value")
        for glob, rules in pfi.items():
            if not isinstance(glob, str) or not glob.strip():
                raise fail(("per-file-ignores", glob), "expected a glob (string)")
            cfg.per_file_ignores.append(
                (spec([glob]), selectors(("per-file-ignores", glob), rules, ignoring=True)))
    if "exclude" in data:
        cfg.exclude = spec(strings(("exclude",), data["exclude"], "globs", "a glob"))
    if "fail-on" in data:
        v = data["fail-on"]
        if v not in FAIL_ON:
            raise fail(("fail-on",), f"fail-on must be one of {', '.join(FAIL_ON)}, "
                       f"not {v!r}", "value")
        cfg.fail_on = str(v)
    if "rules" in data:
        _rules(data["rules"], cfg, fail, metas)
    if "trusted-registries" in data:
        regs = strings(("trusted-registries",), data["trusted-registries"], "registries",
                       "a registry")
        cfg.options.setdefault(TRUSTED_REGISTRIES_RULE, {})[TRUSTED_REGISTRIES_OPTION] = regs
    if "build-context" in data:
        v = data["build-context"]
        if not isinstance(v, str) or not v.strip():
            raise fail(("build-context",), "build-context must be a folder path (string), "
                       f"not {_type_name(v)}", "value")
        full = os.path.normpath(os.path.join(root, os.path.expanduser(v)))
        if not os.path.isdir(full):
            raise fail(("build-context",), f"build-context {v!r} is not a folder "
                       f"(resolved to {full})", "value")
        cfg.build_context = full
    if "shellcheck" in data:
        v = data["shellcheck"]
        if not isinstance(v, bool):
            raise fail(("shellcheck",), f"shellcheck must be true or false, not "
                       f"{_type_name(v)}", "value")
        cfg.shellcheck = bool(v)
    return cfg


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers and scalars as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _rules(rules: Any, cfg: Config, fail: Callable[..., ConfigError],
           metas: Mapping[str, Any]) -> None:
    if not isinstance(rules, dict):
        raise fail(("rules",), f"rules must be a mapping of rule -> settings, not "
                   f"{_type_name(rules)}", "value")
    by_name = {m.name: rid for rid, m in metas.items()}
    for key, settings in rules.items():
        at = ("rules", key)
        rid = str(key).upper() if str(key).upper() in metas else by_name.get(str(key).lower())
        if rid is None:
            raise fail(at, f"unknown rule {key!r}{_suggest(key, list(metas) + list(by_name))}; "
                       "expected a rule ID (MLD310) or name (pip-no-cache-dir)")
        if not isinstance(settings, dict):
            raise fail(at, f"settings of {rid} must be a mapping (severity and the rule's "
                       f"options), not {_type_name(settings)}", "value")
        defaults = dict(getattr(metas[rid], "options", None) or {})
        if rid == TRUSTED_REGISTRIES_RULE:
            defaults.setdefault(TRUSTED_REGISTRIES_OPTION, [])
        allowed = ["severity"] + sorted(defaults)
        for opt, value in settings.items():
            oat = at + (opt,)
            if opt == "severity":
                if value not in SEVERITIES:
                    raise fail(oat, f"severity of {rid} must be one of {', '.join(SEVERITIES)}, "
                               f"not {value!r}", "value")
                cfg.severities[rid] = str(value)
            elif opt in defaults:
                if not _same_kind(defaults[opt], value):
                    raise fail(oat, f"option {opt!r} of {rid} must be "
                               f"{_type_name(defaults[opt])}, not {_type_name(value)}", "value")
                cfg.options.setdefault(rid, {})[str(opt)] = _plain(value)
            else:
                raise fail(oat, f"unknown setting {opt!r} for {rid}{_suggest(opt, allowed)}; "
                           f"expected: {', '.join(allowed)}")


# ---------------------------------------------------------------------- discovery
def find_config(folder: str, cache: dict[str, str | None] | None = None) -> str | None:
    """The configuration file that applies to files in ``folder`` (``None`` when none)."""
    folder = os.path.abspath(folder)
    visited: list[str] = []
    found: str | None = None
    current = folder
    while True:
        if cache is not None and current in cache:
            found = cache[current]
            break
        visited.append(current)
        for name in CONFIG_FILES:
            candidate = os.path.join(current, name)
            if os.path.isfile(candidate) and has_config(candidate):
                found = candidate
                break
        if found is not None or os.path.exists(os.path.join(current, ".git")):
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if cache is not None:
        for v in visited:
            cache[v] = found
    return found


class Resolver:
    """Finds, loads (once) and caches the configuration of each linted file."""

    def __init__(self, config_path: str | None = None, isolated: bool = False,
                 metas: Mapping[str, Any] | None = None) -> None:
        self.metas = metas
        self.isolated = isolated
        self._dirs: dict[str, str | None] = {}
        self._loaded: dict[str, Config] = {}
        self.fixed: Config | None = None
        if config_path is not None:
            self.fixed = load(config_path, metas)

    def _load(self, path: str) -> Config:
        if path not in self._loaded:
            self._loaded[path] = load(path, self.metas)
        return self._loaded[path]

    def for_path(self, path: str) -> Config:
        """The configuration of a file (``path`` of a file, or a folder for stdin)."""
        if self.fixed is not None:
            return self.fixed
        if self.isolated:
            return Config()
        folder = path if os.path.isdir(path) else (os.path.dirname(os.path.abspath(path)))
        found = find_config(folder, self._dirs)
        return self._load(found) if found else Config()


# ---------------------------------------------------------------------- precedence
@dataclass
class FileSettings:
    """What the engine needs for one file, after precedence."""

    selected: set[str]
    options: dict[str, dict[str, Any]]
    severities: dict[str, str]
    fail_on: str
    context: str | None
    #: run ShellCheck (``--shellcheck`` or the configuration's ``shellcheck: true``)
    shellcheck: bool = False
    #: ShellCheck codes ignored (``ignore``, ``--ignore``, ``per-file-ignores``)
    shellcheck_ignore: frozenset[str] = frozenset()


def _layer(enabled: set[str], select: list[str] | None, ignore: list[str],
           extend: list[str], metas: Mapping[str, Any]) -> set[str]:
    """One selection layer on top of ``enabled`` (ruff's semantics: ``select`` resets, then
    additions and removals by specificity, removals winning ties)."""
    from . import registry

    if select is not None:
        return set(registry.select(select, ignore, extend, metas))
    adds: dict[int, set[str]] = {}
    removes: dict[int, set[str]] = {}
    for sel in extend:
        spec, ids = registry._match(sel, metas)
        adds.setdefault(spec, set()).update(ids)
    for sel in ignore:
        spec, ids = registry._match(sel, metas, ignoring=True)
        removes.setdefault(spec, set()).update(ids)
    out = set(enabled)
    for spec in sorted(set(adds) | set(removes)):
        out |= adds.get(spec, set())
        out -= removes.get(spec, set())
    return out


def settings_for(cfg: Config, path: str, metas: Mapping[str, Any], *,
                 cli_select: list[str] | None = None, cli_ignore: list[str] | None = None,
                 cli_extend: list[str] | None = None, cli_fail_on: str | None = None,
                 cli_context: str | None = None, default_context: str | None = None,
                 cli_shellcheck: bool | None = None) -> FileSettings:
    """Combine defaults, ``cfg`` and the command line for the file ``path``.

    Raises:
        ValueError: a command-line selector matches no rule.
    """
    from . import registry

    selected = _layer(registry.default_selection(metas), cfg.select, cfg.ignore,
                      cfg.extend_select, metas)
    if cli_select is not None or cli_ignore or cli_extend:
        selected = _layer(selected, cli_select, list(cli_ignore or ()), list(cli_extend or ()),
                          metas)
    per_file = cfg.ignored_for(path) if path not in ("-", "") else []
    if per_file:
        selected -= registry.resolve_selectors(per_file, metas, ignoring=True)
    ignored_sc = registry.shellcheck_codes(
        list(cfg.ignore) + list(cli_ignore or ()) + list(per_file))
    options: dict[str, dict[str, Any]] = {}
    for rid in selected:
        defaults = getattr(metas.get(rid), "options", None) or {}
        if defaults or rid in cfg.options:
            options[rid] = {**defaults, **cfg.options.get(rid, {})}
    context = cli_context if cli_context is not None else (
        cfg.build_context if cfg.build_context is not None else default_context)
    shellcheck = cli_shellcheck if cli_shellcheck is not None else bool(cfg.shellcheck)
    return FileSettings(selected=selected, options=options, severities=dict(cfg.severities),
                        fail_on=cli_fail_on or cfg.fail_on or "warning", context=context,
                        shellcheck=shellcheck, shellcheck_ignore=frozenset(ignored_sc))
