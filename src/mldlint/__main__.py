"""``python -m mldlint``: the same as the ``mldlint`` command."""

from .cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
