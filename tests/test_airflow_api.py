"""Updating the labels Asset through Airflow's REST API from outside a task (label import, the
operator's view): every outcome in words, the labels recorded whatever Airflow answers. The calls
against a real api-server are in tests/test_ui_browser.py; here a stand-in transport answers."""

from __future__ import annotations

import json

import httpx
import pytest
from aiwatch.airflow_api import (
    LABELS_ASSET_NAME,
    LABELS_ASSET_URI,
    PASSWORDS_FILE,
    AirflowAPI,
    Credentials,
    credentials_from_env,
    signal_labels,
)

BASE = "http://127.0.0.1:1"


def standin(*, known_asset: bool = True, password: str = "pw", calls: list | None = None) -> httpx.MockTransport:
    """Airflow's api-server as far as these calls go: /auth/token, the assets list, asset events."""
    calls = calls if calls is not None else []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, request.headers.get("authorization")))
        if request.url.path == "/auth/token":
            body = json.loads(request.content)
            if body.get("password") != password:
                return httpx.Response(401, json={"detail": "Invalid credentials"})
            return httpx.Response(201, json={"access_token": "jwt-1"})
        if request.headers.get("authorization") != "Bearer jwt-1":
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if request.url.path == "/api/v2/assets":
            # As Airflow stores it: the URI normalised with a trailing slash.
            assets = [{"id": 7, "uri": LABELS_ASSET_URI + "/", "name": LABELS_ASSET_NAME}] if known_asset else []
            assert request.url.params["name_pattern"] == LABELS_ASSET_NAME
            return httpx.Response(200, json={"assets": assets, "total_entries": len(assets)})
        if request.url.path == "/api/v2/assets/events" and request.method == "POST":
            body = json.loads(request.content)
            assert body["asset_id"] == 7 and body["extra"]["new_labels"] == 12
            return httpx.Response(200, json={"id": 41, "asset_id": 7})
        return httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(handle)


def api(transport: httpx.MockTransport, credentials: Credentials | None = None) -> AirflowAPI:
    return AirflowAPI(BASE, credentials or Credentials(username="admin", password="pw"), transport=transport)


def test_enough_labels_update_the_asset_with_a_token_from_the_user_and_password():
    calls: list = []
    signal = signal_labels(api(standin(calls=calls)), 12, "v0003", 10, {"source": "file"})
    assert signal.updated and signal.event_id == 41
    assert "labels Asset updated (event 41" in signal.message and "12 new label(s) since model v0003" in signal.message
    assert [c[:2] for c in calls] == [("POST", "/auth/token"), ("GET", "/api/v2/assets"),
                                      ("POST", "/api/v2/assets/events")]
    # An operator's own session token is used as it is: no password exchanged.
    calls.clear()
    assert signal_labels(api(standin(calls=calls), Credentials(token="jwt-1")), 12, None, 10, {}).updated
    assert calls[0][:2] == ("GET", "/api/v2/assets")


@pytest.mark.parametrize(("transport", "credentials", "expected"), [
    (standin(password="other"), None, "refused admin (HTTP 401: Invalid credentials)"),
    (standin(), Credentials(token="stale"), "refused the token (HTTP 401: Not authenticated)"),
    (standin(known_asset=False), None, "knows no Asset 'morocco_ai_watch_labels': no DAG declaring it has been parsed"),
    (httpx.MockTransport(lambda r: httpx.Response(200, text="<html>nginx</html>")), None, "other than JSON"),
    (httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("Connection refused"))), None,
     f"Airflow's API at {BASE} is unreachable (ConnectError: Connection refused)"),
])
def test_every_failure_says_why_and_names_the_server(transport, credentials, expected):
    signal = signal_labels(api(transport, credentials), 12, "v0003", 10, {})
    assert not signal.updated and signal.event_id is None
    assert signal.message.startswith("the labels Asset was not updated: ") and expected in signal.message


def test_too_few_labels_or_no_credentials_touch_nothing():
    calls: list = []
    waiting = signal_labels(api(standin(calls=calls)), 3, "v0003", 10, {})
    assert not waiting.updated and calls == []
    assert "3 new label(s) since model v0003; retraining waits for 10 (WATCH_RETRAIN_MIN_LABELS)" in waiting.message
    none = signal_labels(None, 12, None, 10, {})
    assert not none.updated and "no Airflow API credentials" in none.message and "WATCH_AIRFLOW_API_USER" in none.message


def test_credentials_come_from_the_environment_or_make_ups_passwords_file(tmp_path):
    assert credentials_from_env({"WATCH_AIRFLOW_API_TOKEN": "t", "WATCH_AIRFLOW_API_USER": "u"}).token == "t"
    from_user = credentials_from_env({"WATCH_AIRFLOW_API_USER": "amina", "WATCH_AIRFLOW_API_PASSWORD": "x"})
    assert (from_user.username, from_user.password, from_user.usable) == ("amina", "x", True)
    assert not credentials_from_env({"AIRFLOW_HOME": str(tmp_path)}).usable   # no passwords file
    (tmp_path / PASSWORDS_FILE).write_text(json.dumps({"zed": "1", "admin": "s3cret"}), encoding="utf-8")
    standalone = credentials_from_env({"AIRFLOW_HOME": str(tmp_path)})
    assert (standalone.username, standalone.password) == ("admin", "s3cret") and PASSWORDS_FILE in standalone.source
    (tmp_path / PASSWORDS_FILE).write_text("{broken", encoding="utf-8")
    assert not credentials_from_env({"AIRFLOW_HOME": str(tmp_path)}).usable


def test_the_names_match_the_asset_the_dags_declare():
    from aiwatch.airflow_bridge import LABELS_ASSET

    assert (LABELS_ASSET.name, LABELS_ASSET.uri.rstrip("/")) == (LABELS_ASSET_NAME, LABELS_ASSET_URI)
