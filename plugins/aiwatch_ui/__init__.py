"""The operator's view inside the Airflow UI: feed health, events and their Slack alerts, model versions.

``queries`` reads the article store and the model registry (plain functions over a Store, no Airflow);
``airflow_meta`` reads Airflow's metadata (task instances, DAG runs) from inside the api-server;
``app`` is the FastAPI app the plugin (``plugins/aiwatch_ui_plugin.py``) mounts under ``/aiwatch``.
This package is in ``plugins/.airflowignore``: Airflow imports it as a package, not file by file.
"""
