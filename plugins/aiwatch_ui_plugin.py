"""The "Morocco AI Watch" entry of the Airflow UI: feed health, events and alerts, model versions.

Airflow 3 plugin interface: the api-server mounts the FastAPI app (``plugins/aiwatch_ui/``) under
``/aiwatch``, and the external view adds a navigation entry that shows it inside the UI (an iframe
on the same origin, so Airflow's login cookie authenticates it). ``airflow plugins`` lists it.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from aiwatch_ui.app import MOUNT, create_app

NAV_LABEL = "AI Watch"


class AIWatchUIPlugin(AirflowPlugin):
    name = "morocco_ai_watch_ui"
    fastapi_apps = [{"app": create_app(), "url_prefix": MOUNT, "name": "Morocco AI Watch"}]
    external_views = [{
        # Short enough for the navigation's label not to be cut ("Morocco …"); the pages say the rest.
        "name": NAV_LABEL,
        "href": MOUNT.lstrip("/") + "/",  # relative to the UI's <base href>, so [api] base_url works
        "icon": MOUNT.lstrip("/") + "/static/icon.svg",
        "icon_dark_mode": MOUNT.lstrip("/") + "/static/icon-dark.svg",
        "url_route": "morocco-ai-watch",
        "destination": "nav",
        "nav_top_level": True,
    }]
