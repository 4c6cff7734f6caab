"""Rules: syntax."""

from __future__ import annotations
