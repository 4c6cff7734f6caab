"""The rule modules. Importing this package registers every check in
:data:`mldlint.rules.base.CHECKS` (one module per category)."""

from . import base_image, layers, packages, runtime, security, syntax  # noqa: F401
