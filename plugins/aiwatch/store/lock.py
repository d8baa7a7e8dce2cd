"""One cycle at a time per store: two cycles started together would fetch every feed and page twice
(double traffic to every outlet) and race each other's writes.

PostgreSQL: a session-level advisory lock, held by a dedicated connection for the cycle. SQLite: an
exclusive ``flock`` on a file beside the database. Both are released by the operating system or the
server when the holder dies, however it dies, so a killed cycle never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from aiwatch.store.engine import Store


class StoreBusy(RuntimeError):
    """Another process holds the lock; the message says who and what to do."""


def _key(name: str) -> int:
    """A stable non-negative 63-bit key for pg_advisory_lock (so pg_locks shows the same number)."""
    return int.from_bytes(hashlib.sha1(f"aiwatch:{name}".encode()).digest()[:8], "big") & (2**63 - 1)


def _holder_note(name: str) -> dict[str, object]:
    return {"lock": name, "pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}


@contextmanager
def exclusive(store: Store, name: str = "cycle", wait_s: float = 0.0) -> Iterator[None]:
    """Hold the store-wide lock ``name`` for the ``with`` block, waiting up to ``wait_s`` seconds;
    :class:`StoreBusy` if another process keeps it."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            yield  # a private in-memory store cannot be shared
            return
        with _file_lock(Path(f"{database}.{name}.lock"), name, wait_s):
            yield
        return
    if url.get_backend_name() == "postgresql":
        with _advisory_lock(store, name, wait_s):
            yield
        return
    yield  # other backends: no cross-process lock available


@contextmanager
def _file_lock(path: Path, name: str, wait_s: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise StoreBusy(_busy_message(name, handle.read().strip(), str(path))) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder_note(name)))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


@contextmanager
def _advisory_lock(store: Store, name: str, wait_s: float) -> Iterator[None]:
    key = _key(name)
    with store.engine.connect() as conn:
        deadline = time.monotonic() + wait_s
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                holder = conn.execute(text(
                    "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND "
                    "((l.classid::bigint << 32) | l.objid::bigint) = (:k)::bigint LIMIT 1"), {"k": key}).first()
                note = (f"PostgreSQL backend pid {holder.pid} ({holder.application_name or 'no name'}), "
                        f"connected since {holder.backend_start:%Y-%m-%d %H:%M:%S %Z}") if holder else ""
                raise StoreBusy(_busy_message(name, note, store.engine.url.render_as_string(hide_password=True)))
            time.sleep(0.2)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _busy_message(name: str, holder: str, where: str) -> str:
    try:
        note = json.loads(holder)
        holder = f"process {note['pid']}, since {note['since']}"
    except (ValueError, KeyError, TypeError):
        pass
    return (f"another {name} is already running on this store ({holder or 'holder unknown'}; lock {where}); "
            "not starting a second one: wait for it to finish, or stop it first")
