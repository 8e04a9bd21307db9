"""The database: schema (the CRM contract), engines, migrations and the queries the daemon and
dialerctl run. See docs/database.md."""

from dialer.store.engine import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    make_engine,
    redact_url,
    resolve_url,
)
from dialer.store.migrate import current_revision, head_revision, upgrade

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_URL",
    "current_revision",
    "head_revision",
    "make_engine",
    "redact_url",
    "resolve_url",
    "upgrade",
]
