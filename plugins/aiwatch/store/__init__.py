"""The article store: SQLAlchemy models, Alembic migrations and the queries the pipeline uses."""

from aiwatch.store.engine import Store, engine_for, make_engine
from aiwatch.store.migrate import current_revision, upgrade

__all__ = ["Store", "current_revision", "engine_for", "make_engine", "upgrade"]
