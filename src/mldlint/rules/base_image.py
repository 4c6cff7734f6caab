"""Rules: base_image."""

from __future__ import annotations
