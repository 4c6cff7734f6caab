"""Long fuzz run (local use; CI runs the small budget of tests/test_fuzz.py).

    .venv/bin/python bench/fuzz.py --examples 100000 [--seconds 3600] [--fix-every K] [--out DIR]

Draws inputs from the grammar and from mutated real Dockerfiles of ../shared/datasets/
(alternating), checks every property of ``tests/test_fuzz.py`` (``check_input``) and, unlike
the test, keeps going after a failure: each distinct failure (exception type and the innermost
mldlint frame) is written once to ``DIR/failure-N.bin`` (the input) and ``failure-N.txt`` (the
traceback). Prints the number of inputs, the time and the failures at the end (and a progress
line every 1,000 inputs). Exit code 1 when anything failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import conftest  # noqa: E402
import test_fuzz  # noqa: E402


def _is_our_stop(exc: BaseException) -> bool:
    """``exc`` is, or only wraps, the TimeoutError that ``--seconds`` raises."""
    if isinstance(exc, TimeoutError):
        return True
    inner = getattr(exc, "exceptions", None)
    return bool(inner) and all(_is_our_stop(e) for e in inner)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    ap.add_argument("--fix-every", type=int, default=1, metavar="K",
                    help="check the --fix properties on every K-th input only (0: never; "
                         "linting alone is about 3x faster)")
    ap.add_argument("--out", default="fuzz-findings", help="folder for failing inputs")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        files = [p.read_bytes() for p in conftest._unpack(Path(tmp))]
    if not files:
        print("no datasets in ../shared/datasets: grammar only", file=sys.stderr)
    out = Path(args.out)
    failures: dict[str, int] = {}
    count = 0
    start = time.monotonic()

    out.mkdir(parents=True, exist_ok=True)
    current = out / "current.bin"

    def one(data: bytes) -> None:
        nonlocal count
        count += 1
        # the input under test, on disk: a crash of the process itself (a segfault in a
        # native extension) leaves it behind for the report
        current.write_bytes(data)
        try:
            test_fuzz.check_input(
                data, fix=bool(args.fix_every) and count % args.fix_every == 0)
        except Exception as exc:  # noqa: BLE001 - record and go on
            tb = traceback.extract_tb(exc.__traceback__)
            own = [f for f in tb if "mldlint" in f.filename] or tb
            key = f"{type(exc).__name__} at {own[-1].filename}:{own[-1].lineno}"
            if key not in failures:
                failures[key] = 0
                n = len(failures)
                out.mkdir(parents=True, exist_ok=True)
                (out / f"failure-{n}.bin").write_bytes(data)
                (out / f"failure-{n}.txt").write_text(
                    key + "\n\n" + "".join(traceback.format_exception(exc)), "utf-8",
                    errors="backslashreplace")
                print(f"FAILURE {n}: {key}: {str(exc)[:200]}", flush=True)
            failures[key] += 1
        if count % 1000 == 0:
            (out / "count.txt").write_text(f"{count}\n")
            print(f"{count} inputs, {time.monotonic() - start:.0f} s, "
                  f"{len(failures)} distinct failures", flush=True)
        if args.seconds and time.monotonic() - start > args.seconds:
            raise TimeoutError

    strategy = test_fuzz.grammar_dockerfiles()
    if files:
        strategy = strategy | test_fuzz.mutated_dataset_files(files)

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(data: bytes) -> None:
        one(data)

    try:
        run()
    except TimeoutError:
        pass
    except Exception as exc:  # noqa: BLE001 - hypothesis re-raises nothing here; be safe
        # --seconds stops the run by raising TimeoutError inside the test; hypothesis may
        # replay it and wrap it (FlakyFailure, an exception group): the driver's own stop
        if not (args.seconds and _is_our_stop(exc)):
            traceback.print_exc()
    current.unlink(missing_ok=True)
    elapsed = time.monotonic() - start
    print(f"done: {count} inputs in {elapsed:.0f} s ({count / max(elapsed, 1e-9):.0f}/s), "
          f"{len(failures)} distinct failures")
    for key, n in failures.items():
        print(f"  {n:6d}x {key}")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
