"""Schema migrations, applied programmatically so `make run`, the DAG and tests share one path."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aiwatch.store.engine import Store

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(store: Store) -> str:
    """Bring the store's schema to the newest revision; cheap when it is already there."""
    head = head_revision()
    if current_revision(store) == head:
        return head
    config = _config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    log.info("store schema upgraded to %s (%s)", head, store.engine.url.render_as_string(hide_password=True))
    return head
