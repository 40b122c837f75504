"""Every feature's tables, by feature name.

To give a feature tables: write its module in this package with a ``MIGRATIONS`` tuple
(``Migration(1, (...CREATE TABLE...,))``, later ``Migration(2, (...ALTER TABLE...,))``)
and add it here. ``Store.open`` brings each feature up to its last version, in order,
and records the version in ``schema_versions``.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import documents_sqlite, journal, server_settings, showcase, stories
from .migration import Migration

FEATURES: dict[str, Sequence[Migration]] = {
    "journal": journal.MIGRATIONS,
    "server_settings": server_settings.MIGRATIONS,
    "stories": stories.MIGRATIONS,
    "showcase": showcase.MIGRATIONS,
    "documents": documents_sqlite.MIGRATIONS,
}
