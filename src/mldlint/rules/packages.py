"""Rules: packages."""

from __future__ import annotations
