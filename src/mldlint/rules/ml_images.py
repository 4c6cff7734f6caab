"""Rules: GPU at build time, ML caches and framework images (MLD204, MLD704, MLD705, MLD707-MLD712, MLD714)."""

from __future__ import annotations
