"""Alembic environment: run by aiwatch.store.migrate (or `alembic` with -x url=...)."""

from alembic import context
from sqlalchemy import text

from aiwatch.store.engine import make_engine
from aiwatch.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        if conn.dialect.name == "postgresql":
            # Serialise concurrent migrators (several workers starting at once).
            conn.execute(text("SELECT pg_advisory_xact_lock(7291001)"))
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with make_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
