"""The rule modules. Importing this package registers every check in
:data:`mldlint.rules.base.CHECKS` (one module per category or tight family)."""

from . import (  # noqa: F401
    base_image,
    hygiene,
    layers,
    ml_cuda,
    ml_images,
    packages,
    python_env,
    runtime,
    security,
    structure,
    syntax,
    system_packages,
)
