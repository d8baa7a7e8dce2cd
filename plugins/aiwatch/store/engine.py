"""Engines and sessions that stay correct with many writers (parallel mapped tasks, Celery workers).

SQLite: WAL so readers never block the writer, ``BEGIN IMMEDIATE`` so two writers queue on the
lock instead of deadlocking on a read-to-write upgrade, and a generous busy timeout. On top, a
transaction that still hits "database is locked" is retried whole, so no write is ever lost.
PostgreSQL: plain transactions; idempotency comes from unique keys and upserts.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 60_000


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per URL and process (engines own connection pools)."""
    return make_engine(url)


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or opened; the message names the URL (password hidden) and why."""


def redacted(url: str) -> str:
    """A store URL safe to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _why(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:300]


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text


class Store:
    """Handle on the article store: sessions with retry on lock contention."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        try:
            self.engine = engine or engine_for(url)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise StoreUnavailable(f"WATCH_DB_URL={redacted(url)} is not a usable database URL ({_why(exc)}); "
                                   "use sqlite:///path/to/watch.db or postgresql+psycopg://user@host/db") from None
        except OSError as exc:
            raise StoreUnavailable(f"the store {redacted(url)} cannot be created ({exc.strerror or exc}: "
                                   f"{exc.filename or ''}); check WATCH_DB_URL and that its directory can be "
                                   "written") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def check(self) -> None:
        """Connect once; :class:`StoreUnavailable` saying which URL and why if the store cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot reach the store {redacted(self.url)}: {_why(exc)}; check WATCH_DB_URL (host, port, "
                "database name, role and password) and that the database server is running") from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def write(self, work: Callable[[Session], T], attempts: int = 6) -> T:
        """Run ``work`` in its own transaction, retrying the whole transaction on lock contention."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except OperationalError as exc:
                if attempt == attempts or not _is_lock_error(exc):
                    raise
                delay = min(0.2 * 2 ** attempt, 5.0) * (0.5 + random.random())
                log.warning("store busy (%s); retrying transaction in %.1fs (attempt %d/%d)",
                            str(exc.orig)[:80], delay, attempt, attempts)
                time.sleep(delay)
        raise AssertionError("unreachable")

    read = write  # reads use the same path: short transactions, retried when busy
