"""mldlint: a Dockerfile linter and optimizer for machine-learning images."""

__version__ = "0.1.0"
