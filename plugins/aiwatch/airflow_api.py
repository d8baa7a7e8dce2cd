"""Airflow's REST API, from outside a task: update the labels Asset so ``retrain_classifier`` runs.

A task records an Asset event through its ``outlets``; a command-line import or a label given in the
operator's view is not a task, so it asks the api-server instead (``POST /api/v2/assets/events``),
as any client of Airflow would. Plain HTTP (httpx), no Airflow import: the CLI runs without Airflow's
start-up cost and the tests run it against a stand-in as well as a real api-server.

Every outcome is an :class:`AssetSignal` whose ``message`` says exactly what happened or why not
(unreachable server, refused credentials, the Asset unknown because no DAG using it was parsed yet),
so the caller prints it instead of failing: the labels are recorded either way.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

#: The labels Asset's name and URI (those of ``airflow_bridge.LABELS_ASSET``; kept here as data so
#: this module needs no Airflow import, and checked equal by a test).
LABELS_ASSET_NAME = "morocco_ai_watch_labels"
LABELS_ASSET_URI = "aiwatch://labels"
DEFAULT_API_URL = "http://localhost:8080"
#: What ``airflow standalone`` (``make up``) writes: the simple auth manager's generated passwords.
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


@dataclass(frozen=True)
class AssetSignal:
    """Whether the Asset was updated, and the words that say so (or why not)."""

    updated: bool
    message: str
    event_id: int | None = None


class ApiError(Exception):
    """One failed call, in words naming the server and what it answered."""


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: a bearer token (the operator's own session), or a user and password
    exchanged for one at ``POST /auth/token``."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    source: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.token or (self.username and self.password))


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials:
    """``WATCH_AIRFLOW_API_TOKEN``, else ``WATCH_AIRFLOW_API_USER`` and ``WATCH_AIRFLOW_API_PASSWORD``,
    else the passwords file ``airflow standalone`` writes into ``AIRFLOW_HOME`` (its ``admin``, else
    its first user): ``make up`` then works with no set-up."""
    env = os.environ if environ is None else environ
    if env.get("WATCH_AIRFLOW_API_TOKEN"):
        return Credentials(token=env["WATCH_AIRFLOW_API_TOKEN"], source="WATCH_AIRFLOW_API_TOKEN")
    if env.get("WATCH_AIRFLOW_API_USER"):
        return Credentials(username=env["WATCH_AIRFLOW_API_USER"], password=env.get("WATCH_AIRFLOW_API_PASSWORD"),
                           source="WATCH_AIRFLOW_API_USER")
    home = env.get("AIRFLOW_HOME")
    if home:
        path = Path(home) / PASSWORDS_FILE
        try:
            users = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            users = None
        if isinstance(users, dict) and users:
            name = "admin" if "admin" in users else sorted(users)[0]
            return Credentials(username=name, password=str(users[name]), source=str(path))
    return Credentials()


class AirflowAPI:
    """The few calls made to Airflow's public API (``/api/v2``), with one short timeout."""

    def __init__(self, base_url: str, credentials: Credentials, *, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport,
                                    follow_redirects=False, trust_env=False)
        self._token = credentials.token

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AirflowAPI:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._bearer()}"} if path != "/auth/token" else {}
        try:
            response = self._client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"Airflow's API at {self.base_url} is unreachable ({type(exc).__name__}: {exc})") from None
        if response.status_code >= 400:
            detail = _detail(response)
            said = f": {detail}" if detail else ""
            if response.status_code in (401, 403):
                who = self.credentials.username or "the token"
                raise ApiError(f"Airflow's API at {self.base_url} refused {who} (HTTP {response.status_code}{said})")
            raise ApiError(f"Airflow's API at {self.base_url} answered HTTP {response.status_code} to {method} "
                           f"{path}{said}")
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"Airflow's API at {self.base_url} answered {method} {path} with something other "
                           "than JSON (is this Airflow's api-server?)") from None

    def _bearer(self) -> str:
        if self._token is None:
            found = self._call("POST", "/auth/token", json={"username": self.credentials.username,
                                                            "password": self.credentials.password})
            token = found.get("access_token") if isinstance(found, dict) else None
            if not token:
                raise ApiError(f"Airflow's API at {self.base_url} gave no access token for "
                               f"{self.credentials.username}")
            self._token = str(token)
        return self._token

    def asset_id(self, name: str) -> int | None:
        """The id Airflow gave the Asset called ``name``, or None when no parsed DAG declares it.

        By name: Airflow 3 identifies an Asset by its name and normalises its URI on parsing
        (``aiwatch://labels`` is stored as ``aiwatch://labels/``)."""
        found = self._call("GET", "/api/v2/assets", params={"name_pattern": name, "limit": 100})
        for asset in found.get("assets", []) if isinstance(found, dict) else []:
            if asset.get("name") == name:
                return int(asset["id"])
        return None

    def add_asset_event(self, name: str, extra: Mapping[str, Any]) -> int:
        """Record an event on the Asset (what a task's ``outlets`` does); returns the event's id."""
        asset = self.asset_id(name)
        if asset is None:
            raise ApiError(f"Airflow at {self.base_url} knows no Asset {name!r}: no DAG declaring it has been "
                           "parsed yet (is the dag-processor running on this project's dags/?)")
        found = self._call("POST", "/api/v2/assets/events", json={"asset_id": asset, "extra": dict(extra)})
        return int(found["id"])

    def trigger_dag(self, dag_id: str, note: str = "") -> tuple[str, bool]:
        """Queue a run of ``dag_id`` now (what the UI's trigger button does); returns its run id and
        whether the DAG is paused (a paused DAG's run waits until it is unpaused)."""
        from urllib.parse import quote

        dag = self._call("GET", f"/api/v2/dags/{quote(dag_id, safe='')}")
        body: dict[str, Any] = {"logical_date": None}
        if note:
            body["note"] = note[:1000]
        run = self._call("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", json=body)
        return str(run.get("dag_run_id")), bool(dag.get("is_paused")) if isinstance(dag, dict) else False


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    return str(detail)[:200] if detail else ""


def signal_labels(api: AirflowAPI | None, new_labels: int, newest_model: str | None, min_labels: int,
                  extra: Mapping[str, Any]) -> AssetSignal:
    """Update the labels Asset when ``min_labels`` labels (``WATCH_RETRAIN_MIN_LABELS``) have gathered
    since ``newest_model`` was trained, as ``collect_feedback`` does; otherwise say what it waits for."""
    since = f"since model {newest_model}" if newest_model else "and no model trained yet"
    if new_labels < min_labels:
        return AssetSignal(False, f"{new_labels} new label(s) {since}; retraining waits for {min_labels} "
                                  "(WATCH_RETRAIN_MIN_LABELS), so the labels Asset stays as it is")
    if api is None:
        return AssetSignal(False, "the labels Asset was not updated: no Airflow API credentials (set "
                                  "WATCH_AIRFLOW_API_TOKEN, or WATCH_AIRFLOW_API_USER and WATCH_AIRFLOW_API_PASSWORD, "
                                  "or run beside `make up`, whose AIRFLOW_HOME holds them)")
    try:
        event = api.add_asset_event(LABELS_ASSET_NAME, {"new_labels": new_labels, "since_model": newest_model,
                                                       **extra})
    except ApiError as exc:
        log.warning("labels Asset not updated: %s", exc)
        return AssetSignal(False, f"the labels Asset was not updated: {exc}")
    log.info("labels Asset updated through %s (event %d): %d new labels %s", api.base_url, event, new_labels, since)
    return AssetSignal(True, f"labels Asset updated (event {event} at {api.base_url}): {new_labels} new label(s) "
                             f"{since}, so retrain_classifier runs", event)
