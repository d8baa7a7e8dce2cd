"""The article store: SQLAlchemy models, Alembic migrations and the queries the pipeline uses."""

from aiwatch.store.engine import Store, StoreUnavailable, engine_for, make_engine, redacted
from aiwatch.store.migrate import current_revision, upgrade

__all__ = ["Store", "StoreUnavailable", "current_revision", "engine_for", "make_engine", "redacted", "upgrade"]
