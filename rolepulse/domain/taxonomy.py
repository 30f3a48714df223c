"""Taxonomy types: the reference data normalization matches against and the API describes.

The data itself lives in versioned JSON files under `rolepulse/taxonomy/data/`; loading them is
I/O and happens in `rolepulse.taxonomy.load_taxonomy`, called from each process's composition root.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RoleInfo:
    slug: str
    name: str  # display name, e.g. "AI Software Engineer"
    focus: str  # one-line focus
    career_path: tuple[str, ...]  # typical progression, e.g. ("Senior AI Engineer", ...)
