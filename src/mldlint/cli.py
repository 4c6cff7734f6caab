"""The ``mldlint`` command: ``check`` (the default work), ``rules`` and ``explain``.

Exit codes (DESIGN.md "Outputs and exit codes"):

* 0: nothing at or above the ``--fail-on`` threshold;
* 1: findings at or above it;
* 2: usage or configuration error, or a path that cannot be read as text (missing, unreadable,
  binary); wins over 1. The other files are still linted and reported;
* 3: internal error (a bug): one line on stderr, the traceback only with ``MLDLINT_DEBUG`` set.

Start-up time matters (pre-commit runs this on every commit): this module imports only click at
import time; the engine, parser, rules, registry and rich are imported when a command needs them.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import click

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Diagnostic
    from .reporters import Report
    from .source import SourceFile

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
FAIL_ON = ("error", "warning", "info", "never")
#: run files in a process pool only from this many files on (a pool costs start-up time).
PARALLEL_MIN_FILES = 16

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------- error handling
def _internal_error(exc: BaseException) -> None:
    """Report an unexpected exception as a bug and exit 3 (a closed output pipe, as in
    ``mldlint check ... | head``, is no bug: exit 1 quietly, as Unix tools do)."""
    if isinstance(exc, BrokenPipeError):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(1)
    if os.environ.get("MLDLINT_DEBUG"):
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    detail = str(exc).strip().splitlines()
    msg = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
    click.echo(f"mldlint: internal error (this is a bug in mldlint, please report it): {msg}"
               " (set MLDLINT_DEBUG=1 for the traceback)", err=True)
    sys.exit(EXIT_INTERNAL)


def _guarded(fn: F) -> F:
    """Turn any unexpected exception of a command into exit code 3 (click's own exceptions and
    ``SystemExit`` pass through)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort,
                SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001
            _internal_error(exc)

    return wrapper  # type: ignore[return-value]


def _split(values: Iterable[str] | None) -> list[str]:
    """``("MLD1,MLD2", "packages")`` -> ``["MLD1", "MLD2", "packages"]``."""
    out: list[str] = []
    for v in values or ():
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


# ---------------------------------------------------------------------- the group
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="mldlint",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """mldlint: a Dockerfile linter and optimizer for machine-learning images."""


# ---------------------------------------------------------------------- check
def _metas() -> dict[str, Any]:
    from .engine import load_metas

    return load_metas()


def _select(select: list[str] | None, ignore: list[str], extend_select: list[str],
            metas: dict[str, Any]) -> set[str]:
    from . import registry

    try:
        return set(registry.select(select, ignore, extend_select, metas))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as fh:
        return fh.read()


def _lint_one(args: tuple[Any, ...]) -> list["Diagnostic"]:
    """Lint one item: ``(source, selected, context)`` and optionally a dict of
    :func:`~mldlint.engine.lint_source` keyword arguments.

    The cyclic garbage collector is off while a file is linted: linting allocates many
    long-lived objects (syntax tree, model) and few reference cycles, and the collector's
    repeated passes over the growing heap made big files super-linear (a 20,000-line file
    spent about a third of its time collecting). Cycles left over are collected when it is
    turned back on."""
    import gc

    from .engine import lint_source

    source, selected, context = args[:3]
    kwargs = args[3] if len(args) > 3 else {}
    enabled = gc.isenabled()
    gc.disable()
    try:
        return lint_source(source, selected, context, **kwargs)
    finally:
        if enabled:
            gc.enable()


#: the items of the pool's run, set before the workers start (inherited, or sent once to each
#: worker with the ``spawn`` start method) so that only indexes travel per file.
_POOL_ITEMS: list[tuple[Any, ...]] = []


def _init_worker(items: list[tuple[Any, ...]]) -> None:
    global _POOL_ITEMS
    _POOL_ITEMS = items


def _lint_chunk(bounds: tuple[int, int]) -> list[list["Diagnostic"]]:
    """Worker of the process pool (top level, so it pickles): lint ``_POOL_ITEMS[lo:hi]``."""
    lo, hi = bounds
    return [_lint_one(item) for item in _POOL_ITEMS[lo:hi]]


def _lint_all(items: list[tuple[Any, ...]], jobs: int) -> list[list["Diagnostic"]]:
    """Lint every file, in a process pool when there are many; results keep the input order.

    The workers get the items once (forked, or pickled once per worker) and are handed
    ``(lo, hi)`` index ranges: chunks small enough to balance the load (about 8 per worker,
    at most 64 files) and big enough that the per-task overhead stays small."""
    workers = min(jobs, len(items))
    if workers > 1 and len(items) >= PARALLEL_MIN_FILES:
        import concurrent.futures as cf

        size = max(1, min(64, len(items) // (workers * 8)))
        chunks = [(lo, min(lo + size, len(items))) for lo in range(0, len(items), size)]
        try:
            with cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                        initargs=(items,)) as pool:
                return [diags for chunk in pool.map(_lint_chunk, chunks) for diags in chunk]
        except (OSError, cf.process.BrokenProcessPool):  # no processes here: run serially
            pass
    return [_lint_one(item) for item in items]


@cli.command()
# readable=False: an unreadable path is reported by the run (exit 2, the others still linted)
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@click.option("--format", "fmt",
              type=click.Choice(["text", "json", "sarif", "github", "gitlab"]), default="text",
              show_default=True, help="Output format.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False),
              help="Write the report to FILE instead of stdout.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file to use (replaces discovery of .mldlint.yaml, "
                   ".mldlint.yml and [tool.mldlint] in pyproject.toml).")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--no-inline-suppressions", is_flag=True,
              help="Ignore '# mldlint: ignore=' and '# hadolint ignore=' comments (audits).")
@click.option("--include-suppressed", is_flag=True,
              help="SARIF: also report suppressed findings, marked as suppressed in source.")
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per rule instead of the findings.")
@click.option("--quiet", "-q", is_flag=True,
              help="Print the findings only (no summary line, no notes).")
@click.option("--select", multiple=True, metavar="RULES",
              help="Rules to run instead of the defaults: IDs, names, categories, prefixes or "
                   "ALL (comma-separated, repeatable).")
@click.option("--ignore", multiple=True, metavar="RULES", help="Rules not to run.")
@click.option("--extend-select", multiple=True, metavar="RULES",
              help="Rules to run on top of the selection (e.g. off-by-default rules).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="Lowest severity that makes the exit code 1 (default: the configuration's "
                   "fail-on, else warning).")
@click.option("--no-color", is_flag=True, help="Never colour the text output.")
@click.option("--show-source", is_flag=True, help="Show the source lines under each finding.")
@click.option("--context", "context_dir", type=click.Path(exists=True, file_okay=False),
              help="Build context folder (default: each Dockerfile's folder; none for stdin).")
@click.option("--stdin-filename", default="-", show_default=True,
              help="Name to report for the file read from stdin ('-' as PATH).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
              help="Files linted in parallel (0 = number of CPUs).")
@click.option("--fix", is_flag=True,
              help="Apply safe fixes in place (stdin: print the fixed text to stdout).")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix or --diff, also apply unsafe fixes.")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff instead of writing them; exit 1 when "
                   "anything would change.")
@click.option("--show-fixes", is_flag=True, help="With --fix, list the fixes applied per file.")
@click.option("--shellcheck/--no-shellcheck", "shellcheck", default=None,
              help="Run ShellCheck over the RUN scripts and report its SC codes (needs "
                   "mldlint[shellcheck]; default: the configuration's shellcheck, else off).")
@_guarded
def check(paths: tuple[str, ...], fmt: str, select: tuple[str, ...], ignore: tuple[str, ...],
          extend_select: tuple[str, ...], fail_on: str, no_color: bool, show_source: bool,
          context_dir: str | None, stdin_filename: str, jobs: int, fix: bool = False,
          unsafe_fixes: bool = False, diff: bool = False, show_fixes: bool = False,
          output: str | None = None, config_path: str | None = None, isolated: bool = False,
          no_inline_suppressions: bool = False, include_suppressed: bool = False,
          statistics: bool = False, quiet: bool = False,
          shellcheck: bool | None = None) -> None:
    """Lint Dockerfiles (PATHs: files, folders, or - for stdin; default: the current folder)."""
    from .discovery import discover
    from .reporters import Report, display_path
    from .reporters.text import write_unreadable
    from .source import BinaryFileError, SourceFile

    if unsafe_fixes and not (fix or diff):
        raise click.UsageError("--unsafe-fixes needs --fix or --diff")
    metas = _metas()
    selected = _select(_split(select) if select else None, _split(ignore),
                       _split(extend_select), metas)  # validates the command line's selectors
    resolver = _config_resolver(config_path, isolated, metas)
    walked: set[str] = set()  # files found by walking folders (config `exclude` applies)

    err = sys.stderr
    report = Report()
    targets = list(paths) or ["."]

    # which files, in which order (stdin first, then the sorted discovered files)
    files: list[str] = []
    seen: set[str] = set()
    stdin_wanted = False
    for target in targets:
        if target == "-":
            stdin_wanted = True
            continue
        found, problems = discover([target])
        if os.path.isdir(target):
            walked.update(found)
        for path, reason in problems:
            report.unreadable.append((display_path(path), reason))
        if not found and not problems and os.path.isdir(target) and not quiet:
            click.echo(f"mldlint: note: no Dockerfiles found in {target}", err=True)
        for f in found:
            if f not in seen:
                seen.add(f)
                files.append(f)
    files.sort()
    files = [f for f in files
             if f not in walked or not _config_of(resolver, f).excludes(f)]
    if stdin_wanted:
        files.insert(0, "-")
    lint_kwargs: list[dict[str, Any]] = []
    fail_on_by_path: dict[str, str] = {}

    items: list[tuple[SourceFile, set[str], str | None]] = []
    origins: list[str] = []  # the path each item was read from ("-" for stdin), for --fix
    for path in files:
        shown = stdin_filename if path == "-" else display_path(path)
        try:
            data = _read(path)
            source = SourceFile.from_bytes(data, path=shown)
        except OSError as exc:
            report.unreadable.append((shown, exc.strerror or str(exc)))
            continue
        except BinaryFileError as exc:
            report.unreadable.append((shown, str(exc)))
            continue
        settings = _file_settings(
            resolver, path, stdin_filename, metas, select=_split(select) if select else None,
            ignore=_split(ignore), extend_select=_split(extend_select), fail_on=fail_on,
            context_dir=context_dir, shellcheck=shellcheck)
        context = settings.context
        fail_on_by_path[shown] = settings.fail_on
        lint_kwargs.append({
            "options": settings.options, "severity_overrides": settings.severities,
            "inline_suppressions": not no_inline_suppressions,
            "include_suppressed": include_suppressed and fmt == "sarif"})
        if settings.shellcheck:
            lint_kwargs[-1]["shellcheck"] = True
            if settings.shellcheck_ignore:
                lint_kwargs[-1]["shellcheck_ignore"] = settings.shellcheck_ignore
        report.files.append(shown)
        report.sources[shown] = source
        items.append((source, settings.selected, context))
        origins.append(path)

    for path, reason in report.unreadable:
        write_unreadable(path, reason, err)
    if any(kw.get("shellcheck") for kw in lint_kwargs):
        from .shellcheck import INSTALL_HINT, find_binary

        if find_binary() is None:
            click.echo(f"mldlint: error: {INSTALL_HINT}", err=True)
            sys.exit(EXIT_USAGE)
    suppressed: list["Diagnostic"] = []  # with --include-suppressed (SARIF)

    _after_startup()
    if fix or diff:
        outcome = _fix_all([item + (kw,) for item, kw in zip(items, lint_kwargs)], origins,
                           report, unsafe=unsafe_fixes, diff=diff)
        suppressed.extend(outcome.suppressed)
        if diff:
            from .reporters.text import would_fix_line

            click.echo(would_fix_line(outcome.applied, outcome.changed_files, report.saved),
                       err=True)
            sys.exit(EXIT_USAGE if report.unreadable or outcome.write_failed
                     else EXIT_FINDINGS if outcome.changed_files else EXIT_OK)
    else:
        outcome = None
        for diags in _lint_all([item + (kw,) for item, kw in zip(items, lint_kwargs)],
                               jobs or (os.cpu_count() or 1)):
            for d in diags:
                (suppressed if d.suppression is not None else report.diagnostics).append(d)

    out = sys.stdout
    if outcome is not None and outcome.stdin_fixed:
        out = sys.stderr  # stdout holds the fixed text
    if output:
        out = _open_output(output)
    ran = set().union(*(item[1] for item in items)) if items else set(selected)
    if statistics:
        _write_statistics(report, out, fmt)
    elif fmt in ("sarif", "github", "gitlab"):
        _write_integration(fmt, report, out, suppressed=suppressed, selected=ran)
    elif quiet and fmt == "text" and outcome is None:
        _write_quiet(report, out, show_source)
    elif fmt == "json":
        from .reporters import json as json_reporter

        json_reporter.write(report, out)
    else:
        from .reporters import text as text_reporter

        text_reporter.write(report, out, color=text_reporter.use_color(out, no_color),
                            show_source=show_source,
                            fixes=outcome.applied if outcome is not None else None,
                            written=outcome.written if outcome is not None else None,
                            show_fixes=show_fixes)
    if fmt != "text" and outcome is not None and show_fixes:
        from .reporters.text import write_fixes

        write_fixes(outcome.applied, outcome.written, sys.stderr)
    out.flush()
    code = _exit_code_by_file(report, fail_on_by_path, fail_on)
    if outcome is not None and outcome.write_failed:
        code = EXIT_USAGE
    sys.exit(code)


# ---------------------------------------------------------------------- --fix / --diff
class _FixOutcome:
    """What ``--fix``/``--diff`` did over the run."""

    def __init__(self) -> None:
        #: shown path -> ``(rule, title)`` of the applied fixes.
        self.applied: dict[str, list[tuple[str, str]]] = {}
        #: shown path of a Dockerfile -> ``(path, rules)`` of the second files its fixes wrote.
        self.written: dict[str, list[tuple[str, list[str]]]] = {}
        self.changed_files = 0
        self.write_failed = False
        self.stdin_fixed = False
        #: suppressed findings that are left (reported only with --include-suppressed).
        self.suppressed: list["Diagnostic"] = []


def _fix_all(items: list[tuple[Any, ...]], origins: list[str],
             report: "Report", *, unsafe: bool, diff: bool) -> _FixOutcome:
    """Fix every file (serially: files of one build context may write the same
    ``.dockerignore``), write the results (or print a diff) and put the findings that are left
    into ``report``. Guard trips and refused fixes are reported on stderr."""
    from .engine import lint_source
    from .fixer import fix_source, unified_diff, write_atomic
    from .reporters import display_path
    from .source import SourceFile

    outcome = _FixOutcome()
    err = sys.stderr

    def emit_bytes(data: bytes) -> None:
        sys.stdout.flush()
        buf = getattr(sys.stdout, "buffer", None)
        if buf is not None:
            buf.write(data)
            buf.flush()
        else:  # pragma: no cover - a text-only stream
            sys.stdout.write(data.decode("utf-8", "replace"))

    def emit(text: str) -> None:  # as bytes: the text may hold undecodable bytes
        emit_bytes(text.encode("utf-8", "surrogateescape"))

    for item, origin in zip(items, origins):
        source, selected, context = item[:3]
        kwargs = item[3] if len(item) > 3 else {}  # lint_source options (configuration)
        result = fix_source(source, selected, context, unsafe, **kwargs)
        shown = source.path
        if result.guard_tripped:
            err.write(f"{shown}: warning: fixes not applied, file left unchanged: "
                      f"{result.guard_tripped}\n")
        for rule_id, title, reason in result.refused:
            err.write(f"{shown}: warning: fix of {rule_id} ({title}) not applied: {reason}\n")
        diags = result.diagnostics
        changed = result.changed(source)
        if changed:
            outcome.changed_files += 1
        if diff:
            emit(unified_diff(shown, source.text, result.text))
            for change in result.other_files:
                emit(unified_diff(os.path.normpath(display_path(change.path)),
                                  change.before.decode("utf-8", "surrogateescape"),
                                  change.after.decode("utf-8", "surrogateescape"),
                                  new=not change.existed))
            if result.applied:
                outcome.applied[shown] = list(result.applied)
                report.saved.extend(result.saved)
            report.diagnostics.extend(d for d in diags
                                      if getattr(d, "suppression", None) is None)
            continue
        fixed_source = SourceFile(path=shown, text=result.text, bom=source.bom,
                                  encoding=source.encoding)
        applied = list(result.applied)
        ok = True
        if origin == "-":
            outcome.stdin_fixed = True
            emit_bytes(fixed_source.encode())
        elif result.text != source.text:
            try:
                write_atomic(origin, fixed_source.encode(), expected=source.encode())
            except OSError as exc:
                err.write(f"{shown}: error: cannot write the fixed file: {exc}\n")
                outcome.write_failed, ok = True, False
                applied, fixed_source = [], source
                diags = lint_source(source, selected, context, **kwargs)
        wrote_other = False
        for change in result.other_files if ok else ():
            try:
                if write_atomic(change.path, change.after,
                                expected=change.before if change.existed else None):
                    wrote_other = True
                    outcome.written.setdefault(shown, []).append(
                        (display_path(change.path), change.rules))
            except OSError as exc:
                err.write(f"{display_path(change.path)}: error: cannot write: {exc}\n")
                outcome.write_failed = True
        if wrote_other:  # rules read the build context from disk: look again
            diags = lint_source(fixed_source, selected, context, **kwargs)
        if applied:
            outcome.applied[shown] = applied
            report.saved.extend(result.saved)
        report.sources[shown] = fixed_source
        for d in diags:
            if getattr(d, "suppression", None) is not None:
                outcome.suppressed.append(d)
            else:
                report.diagnostics.append(d)
    return outcome


def exit_code(report: "Report", fail_on: str) -> int:
    """2 when a path could not be read, else 1 when a finding is at or above ``fail_on``,
    else 0."""
    if report.unreadable:
        return EXIT_USAGE
    if fail_on == "never":
        return EXIT_OK
    from .engine import SEVERITY_RANK

    threshold = SEVERITY_RANK[fail_on]
    if any(SEVERITY_RANK.get(d.severity, 2) >= threshold for d in report.diagnostics):
        return EXIT_FINDINGS
    return EXIT_OK


# ---------------------------------------------------------------------- configuration
def _config_error(exc: Exception) -> None:
    """A configuration problem: ``file:line:col: message`` on stderr, exit 2."""
    click.echo(str(exc), err=True)
    sys.exit(EXIT_USAGE)


def _config_resolver(config_path: str | None, isolated: bool, metas: dict[str, Any]) -> Any:
    from .config import ConfigError, Resolver

    try:
        return Resolver(config_path, isolated=isolated, metas=metas)
    except ConfigError as exc:
        _config_error(exc)


def _config_of(resolver: Any, path: str) -> Any:
    from .config import ConfigError

    try:
        return resolver.for_path(path)
    except ConfigError as exc:
        _config_error(exc)


def _file_settings(resolver: Any, path: str, stdin_filename: str, metas: dict[str, Any], *,
                   select: list[str] | None, ignore: list[str], extend_select: list[str],
                   fail_on: str | None, context_dir: str | None,
                   shellcheck: bool | None = None) -> Any:
    """Defaults < configuration < command line for one file (``path`` ``-`` is stdin, whose
    configuration is found from ``--stdin-filename``'s folder)."""
    from .config import settings_for

    if path == "-":
        where = os.path.dirname(stdin_filename) if stdin_filename != "-" else ""
        cfg = _config_of(resolver, where or ".")
        match_path, default_context = (stdin_filename if stdin_filename != "-" else "-"), None
    else:
        cfg = _config_of(resolver, path)
        match_path, default_context = path, os.path.dirname(path) or "."
    try:
        return settings_for(cfg, match_path, metas, cli_select=select, cli_ignore=ignore,
                            cli_extend=extend_select, cli_fail_on=fail_on,
                            cli_context=context_dir, default_context=default_context,
                            cli_shellcheck=shellcheck)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _exit_code_by_file(report: "Report", fail_on_by_path: dict[str, str],
                       default: str | None) -> int:
    """:func:`exit_code` with each file's own ``fail-on`` (configuration or command line)."""
    if report.unreadable:
        return EXIT_USAGE
    from .engine import SEVERITY_RANK

    for d in report.diagnostics:
        fail_on = fail_on_by_path.get(d.path) or default or "warning"
        if fail_on != "never" and SEVERITY_RANK.get(d.severity, 2) >= SEVERITY_RANK[fail_on]:
            return EXIT_FINDINGS
    return EXIT_OK


# ---------------------------------------------------------------------- other outputs
def _open_output(path: str) -> Any:
    """The ``--output`` file (UTF-8; undecodable bytes of a Dockerfile are kept)."""
    try:
        return open(path, "w", encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise click.UsageError(f"cannot write --output {path}: {exc.strerror or exc}") from None


def _write_integration(fmt: str, report: "Report", out: Any, *, suppressed: list[Any],
                       selected: set[str]) -> None:
    if fmt == "sarif":
        from .reporters import sarif

        sarif.write(report, out, suppressed=suppressed, selected=selected)
    elif fmt == "github":
        from .reporters import github

        github.write(report, out)
    else:
        from .reporters import gitlab

        gitlab.write(report, out)


def statistics_rows(report: "Report") -> list[tuple[int, str, str, int]]:
    """``(count, rule, name, fixable)`` per rule, most frequent first."""
    counts: dict[str, list[Any]] = {}
    for d in report.diagnostics:
        row = counts.setdefault(d.rule, [0, d.name, 0])
        row[0] += 1
        if d.fixable:
            row[2] += 1
    return sorted(((c, rule, name, fx) for rule, (c, name, fx) in counts.items()),
                  key=lambda r: (-r[0], r[1]))


def _write_statistics(report: "Report", out: Any, fmt: str) -> None:
    """``--statistics``: the number of findings per rule (a JSON list with --format json)."""
    rows = statistics_rows(report)
    if fmt == "json":
        import json

        json.dump([{"rule": r, "name": n, "count": c, "fixable": fx} for c, r, n, fx in rows],
                  out, indent=2)
        out.write("\n")
        return
    width = max((len(str(c)) for c, *_ in rows), default=1)
    for c, rule, name, fx in rows:
        marker = " [*]" if fx else ""
        out.write(f"{c:>{width}}  {rule}  {name}{marker}\n")


def _write_quiet(report: "Report", out: Any, show_source: bool) -> None:
    """``--quiet``: the findings only, no summary line."""
    from .reporters.text import code_frame, format_diagnostic

    for d in report.sorted_diagnostics():
        out.write(format_diagnostic(d) + "\n")
        if show_source and d.path in report.sources:
            for gutter, text in code_frame(report.sources[d.path], d):
                out.write(gutter + text + "\n")


# ---------------------------------------------------------------------- rules / explain
def _implemented(metas: dict[str, Any]) -> list[Any]:
    """The metadata of the implemented rules, sorted by ID."""
    from . import registry

    impl = registry.implemented()
    if isinstance(impl, dict):
        impl = impl.values()
    out = [metas[x] if isinstance(x, str) else x for x in impl
           if not isinstance(x, str) or x in metas]
    return sorted(out, key=lambda m: m.id)


def _fix_text(fix: Any) -> str:
    if not fix:
        return "-"
    if isinstance(fix, str):
        return fix
    return ",".join(str(f) for f in fix)


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@_guarded
def rules_cmd(fmt: str) -> None:
    """List the implemented rules."""
    metas = _metas()
    implemented = _implemented(metas)
    if fmt == "json":
        import json

        from .docs import rule_as_json

        click.echo(json.dumps([rule_as_json(m) for m in implemented], indent=2))
        return
    header = ("ID", "NAME", "SEVERITY", "CATEGORY", "FIX", "DEFAULT", "TITLE")
    rows = [header] + [
        (m.id, m.name, m.severity, m.category, _fix_text(getattr(m, "fix", None)),
         "yes" if getattr(m, "default_enabled", True) else "no", getattr(m, "title", ""))
        for m in implemented]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]
        click.echo("  ".join(cells).rstrip())


def find_meta(query: str, metas: dict[str, Any]) -> Any | None:
    """The rule whose ID or name is ``query`` (case-insensitive)."""
    q = query.strip()
    if q.upper() in metas:
        return metas[q.upper()]
    for m in metas.values():
        if m.name.lower() == q.lower():
            return m
    return None


@cli.command()
@click.argument("rule")
@_guarded
def explain(rule: str) -> None:
    """Explain a rule (ID such as MLD303, or name such as pip-no-cache-dir)."""
    metas = _metas()
    meta = find_meta(rule, metas)
    if meta is None:
        raise click.UsageError(f"unknown rule {rule!r} (see 'mldlint rules')")
    from .docs import explain_text

    click.echo(explain_text(meta).rstrip("\n"))


# ---------------------------------------------------------------------- entry point
def _tolerant_streams() -> None:
    """Let text with undecodable bytes (kept as lone surrogates) reach the terminal."""
    for stream in (sys.stdout, sys.stderr):
        try:
            enc = (stream.encoding or "").lower().replace("-", "")
            stream.reconfigure(errors="surrogateescape" if enc == "utf8" else "backslashreplace")
        except (AttributeError, ValueError):
            pass


def _after_startup() -> None:
    """Start-up is over: what is alive now (modules, rule metadata, the read files) lives until
    the end, so the garbage collector need not scan it again (``gc.freeze``); collection is
    turned back on if :func:`main` turned it off."""
    import gc

    gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``mldlint``, ``python -m mldlint``)."""
    import gc

    gc.disable()  # start-up (imports, metadata) makes no garbage cycles: see _after_startup
    _tolerant_streams()
    try:
        cli.main(args=argv, prog_name="mldlint")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - anything click did not handle
        _internal_error(exc)
