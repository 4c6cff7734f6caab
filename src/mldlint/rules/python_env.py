"""Rules: Python environments: pip --user, manifests, conda and uv (MLD312, MLD313, MLD320, MLD321, MLD325)."""

from __future__ import annotations
