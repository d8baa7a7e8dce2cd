# Morocco AI Watch on the official Airflow image: our pinned dependencies, our code, and the default
# classifier trained at build time (from the corpus in classifiers/data, never downloaded).
#
#   docker compose build          (docker-compose.yml builds this file for every Airflow service)
#
# The base image's Airflow version must equal the apache-airflow pin in requirements.lock
# (tests/test_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# Where the project lives inside the image: AIRFLOW_HOME, with dags/, plugins/, classifiers/ and
# config/ next to each other as in the repository (docker-compose.yml mounts the same four folders).
ENV WATCH_HOME=/opt/airflow \
    WATCH_MODEL_DIR=/opt/airflow/models \
    WATCH_DATA_DIR=/opt/airflow/var \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PYTHONDONTWRITEBYTECODE=1

# The image already has Airflow; install our whole lock as the airflow user, the way the image's
# documentation says to extend it (pip would refuse to run as root here). Pinning apache-airflow to
# the lock's version on the same command line keeps pip from moving it.
USER airflow
COPY --chown=airflow:0 requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/airflow/requirements.lock

# Our code. Installed in editable mode (no dependencies: they are all in the lock above), so that
# `aiwatch` and `classifiers` import from /opt/airflow/plugins and /opt/airflow/classifiers, which
# docker-compose.yml may mount from the checkout.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 classifiers /opt/airflow/classifiers
COPY --chown=airflow:0 config /opt/airflow/config
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e /opt/airflow

# The default model, trained now into the registry (the first version becomes live). The repository's
# ../shared is not in the build context: the two founding articles it holds are simply not added.
# Directories the services write are group-writable for group 0, so any AIRFLOW_UID can use them.
RUN mkdir -p /opt/airflow/models /opt/airflow/var /opt/airflow/auth /opt/airflow/logs \
    && python -m classifiers train --out /opt/airflow/models \
    && python -m classifiers list --out /opt/airflow/models \
    && chmod -R g+rwX /opt/airflow/models /opt/airflow/var /opt/airflow/auth /opt/airflow/logs

# api-server (REST API, UI and the Execution API used by the workers).
EXPOSE 8080
