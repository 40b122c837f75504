"""One step of a feature's schema."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """Version ``version`` of a feature's tables: the SQL that takes the previous version
    there, run in one transaction. Versions count 1, 2, 3... per feature; a released
    migration is never edited, only followed by a new one."""

    version: int
    statements: tuple[str, ...]
