"""Rules: CUDA and framework wheel builds (MLD701-MLD703, MLD706, MLD713, MLD715)."""

from __future__ import annotations
