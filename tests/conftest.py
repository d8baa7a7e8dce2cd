"""Shared fixtures: settings on a throw-away store, a local news web, and PostgreSQL when present."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_SITE = REPO / "demo" / "site"

# Tests never use the developer's own Airflow home or store: point Airflow at a throw-away home
# before anything imports it.
os.environ.pop("WATCH_DB_URL", None)
os.environ.pop("WATCH_FEEDS_FILE", None)
os.environ.pop("WATCH_MODEL_DIR", None)
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="aiwatch-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

from aiwatch.config import Settings, shared_dir  # noqa: E402
from aiwatch.devserver import DevServer  # noqa: E402

SHARED = shared_dir()
PG_HOST, PG_PORT = "127.0.0.1", 5432


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"python {sys.version.split()[0]}; shared corpora: {'yes' if SHARED.is_dir() else 'absent'}; "
            f"postgresql: {'yes' if _reachable(PG_HOST, PG_PORT) else 'absent'}"]


@pytest.fixture
def server() -> Iterator[DevServer]:
    with DevServer() as srv:
        yield srv


@pytest.fixture
def demo_server() -> Iterator[DevServer]:
    with DevServer(DEMO_SITE) as srv:
        yield srv


@pytest.fixture(scope="session")
def model_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with the default model, trained once per test session (one C, so it is quick)."""
    from classifiers import registry
    from classifiers.training import train_version

    root = tmp_path_factory.mktemp("models")
    version, _ = train_version(root=root, c_grid=(32.0,))
    registry.promote(version.name, root)
    return root


@pytest.fixture
def settings(tmp_path: Path, model_registry: Path) -> Settings:
    """Settings on a fresh SQLite store, with the private-network guard off (the web is local)."""
    return Settings(
        home=REPO, feeds_file=tmp_path / "feeds.yaml", db_url=f"sqlite:///{tmp_path / 'watch.db'}",
        allow_private_networks=True, http_timeout_s=5.0, connect_timeout_s=2.0, fetch_workers=4,
        model_dir=model_registry,
    )


def write_feeds(settings: Settings, feeds: list[dict]) -> None:
    import yaml

    settings.feeds_file.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    if not _reachable(PG_HOST, PG_PORT):
        if os.environ.get("CI"):
            pytest.fail("CI=true but PostgreSQL is not reachable on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (tests of the production store skipped)")
    return f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/postgres"


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A throw-away database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"aiwatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from aiwatch.store.engine import engine_for

        engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a store test on SQLite and on the PostgreSQL server on loopback."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")
