"""docker-compose.yml, Dockerfile and .env.example, checked by parsing (no Docker engine needed).

The compose file is read with yaml.safe_load (anchors and ``<<`` merges resolved, as compose does) and
its ``${VARIABLES}`` are interpolated from .env.example, so the URLs every component sees are checked
as a user who copied .env.example would get them. The parts that can run here do run: the Celery app
the worker healthcheck pings is imported, the job types the healthchecks ask for are Airflow's own,
every service command parses with Airflow's CLI, and airflow-init's store-creation script creates a
database on the PostgreSQL server on loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERIGNORE = REPO / ".dockerignore"
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-worker": "celery worker"}
CODE_DIRS = ("dags", "plugins", "classifiers", "config")
#: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; "$${" is a literal "${".
_VAR_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# --- parsing helpers -------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines the way docker compose reads .env: '#' comments, quotes removed, '' literal."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"{path.name}:{number}: not KEY=VALUE: {line}"
        if value[:1] in ("'", '"'):
            assert value.endswith(value[0]) and len(value) >= 2, f"{path.name}:{number}: unbalanced quotes"
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        assert key not in values, f"{path.name}:{number}: {key} set twice"
        values[key] = value
    return values


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation, recursively; a missing required variable is an error."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        present = env.get(name)
        if op in (":-", "-"):
            return present if (present if op == ":-" else name in env) else arg
        if op in (":?", "?"):
            if (not present) if op == ":?" else (name not in env):
                raise KeyError(f"{name}: {arg}")
            return present or ""
        return present or ""

    return _VAR_RE.sub(one, value).replace("$$", "$")


@pytest.fixture(scope="module")
def raw_compose() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


#: What a user generates into .env following the instructions in .env.example.
GENERATED = {"AIRFLOW__CORE__FERNET_KEY": "generated-fernet-key", "AIRFLOW__API_AUTH__JWT_SECRET": "generated-jwt"}


@pytest.fixture(scope="module")
def compose(raw_compose: str, env_example: dict[str, str]) -> dict[str, Any]:
    """The compose file as a user with .env copied from .env.example (secrets generated) would run it."""
    return interpolate(yaml.safe_load(raw_compose), dict(env_example, **GENERATED))


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document (keys and values): what compose interpolates."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*strings(k), *strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def used_variables(raw_compose: str, required_only: bool = False) -> set[str]:
    return {m.group(1) for text in strings(yaml.safe_load(raw_compose)) for m in _VAR_RE.finditer(text)
            if not required_only or m.group(2) in (":?", "?")}


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def locked_version(name: str) -> str:
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pkg, sep, version = line.strip().partition("==")
        if sep and pkg.lower() == name.lower():
            return version
    raise AssertionError(f"{name} is not pinned in requirements.lock")


def init_script(services: dict[str, Any]) -> str:
    init = services["airflow-init"]
    assert init["entrypoint"] == "/bin/bash" and init["command"][0] == "-c"
    return init["command"][1]


def heredocs(script: str) -> list[str]:
    """The Python programs fed to ``python - <<'PY'`` in a shell script."""
    return re.findall(r"python - <<'PY'\n(.*?)\nPY\n", script, flags=re.S)


# --- services, commands, environment -----------------------------------------------------------


def test_the_official_services_are_all_there(services):
    assert {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("airflow-cli", "flower"):  # optional, as in the official file: only with a profile
        assert services[name]["profiles"], name


def test_airflow_services_build_our_image_and_run_their_component(services):
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["build"] == "." and service["image"] == "morocco-ai-watch:latest", name
        assert service["command"] == command, name
        assert service["user"] == "50000:0", name
    assert services["flower"]["command"] == "celery flower"


def test_every_service_command_is_a_real_airflow_command():
    """Airflow's own CLI parser accepts each command (celery ones come from the locked provider)."""
    commands = [c.split() for c in AIRFLOW_SERVICES.values()] + [["celery", "flower"], ["db", "migrate"],
                                                                  ["jobs", "check", "--job-type", "TriggererJob"]]
    code = ("import json, sys\nfrom airflow.cli.cli_parser import get_parser\n"
            "for argv in json.loads(sys.argv[1]):\n    get_parser().parse_args(argv)\nprint('parsed')")
    env = dict(os.environ, AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(commands)], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0 and done.stdout.strip().endswith("parsed"), done.stderr[-3000:]


def airflow_env(services: dict[str, Any]) -> dict[str, dict[str, str]]:
    names = [*AIRFLOW_SERVICES, "airflow-init", "airflow-cli", "flower"]
    return {name: services[name]["environment"] for name in names}


def test_every_component_gets_the_same_cluster_settings(services, env_example):
    from sqlalchemy.engine import make_url

    envs = airflow_env(services)
    password = env_example["POSTGRES_PASSWORD"]
    for name, env in envs.items():
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        metadata = make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert (metadata.drivername, metadata.host, metadata.database) == ("postgresql+psycopg2", "postgres",
                                                                           "airflow"), name
        assert (metadata.username, metadata.password) == ("airflow", password), name
        backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend.startswith("db+") and make_url(backend.removeprefix("db+")).host == "postgres", name
        assert re.fullmatch(r"redis://(:[^@]*@)?redis:6379/\d+", env["AIRFLOW__CELERY__BROKER_URL"]), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/", name
        store = make_url(env["WATCH_DB_URL"])
        assert store.drivername == "postgresql+psycopg" and store.host == "postgres", name
        assert store.database not in ("airflow", "postgres") and store.password == password, name
        assert env["WATCH_MODEL_DIR"] == "/opt/airflow/models" and env["WATCH_HOME"] == "/opt/airflow", name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags", name
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/airflow/plugins", name
        for key in ("AIRFLOW_CONN_SLACK_API_DEFAULT", "WATCH_SLACK_CHANNEL", "WATCH_OPS_CHANNEL", "WATCH_FEEDS_FILE"):
            assert env[key] == env_example[key], (name, key)
    # One JWT secret, one Fernet key and one metadata database for all: tokens signed by one component
    # must be accepted by every other.
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "AIRFLOW__CELERY__BROKER_URL", "WATCH_DB_URL", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"):
        assert len({env[key] for env in envs.values()}) == 1, key
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"
    api_port = services["airflow-apiserver"]["ports"][0].rsplit(":", 1)[1]
    assert api_port == "8080"


def test_the_settings_are_valid_for_the_pipeline_and_for_airflow(services):
    from aiwatch.config import Settings

    env = services["airflow-worker"]["environment"]
    settings = Settings.from_env(env)
    assert settings.db_url == env["WATCH_DB_URL"]
    assert str(settings.models) == "/opt/airflow/models" and str(settings.home) == "/opt/airflow"
    assert settings.feeds_file == Path("/opt/airflow/config/feeds.yaml")
    assert settings.slack_channel == "#morocco-ai-watch" and settings.ops_channel == "#morocco-ai-watch-ops"
    assert settings.schedule == "*/20 * * * *"
    slack = json.loads(env["AIRFLOW_CONN_SLACK_API_DEFAULT"])
    assert slack["conn_type"] == "slack" and slack["password"].startswith("xoxb-")
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert int(env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]) > 0


# --- volumes and the image ---------------------------------------------------------------------------


def test_code_is_mounted_where_the_image_has_it(services, compose):
    copies = {args.split()[-1].rstrip("/"): args.split()[-2] for word, args in dockerfile_instructions()
              if word == "COPY" and not args.split()[-1].endswith("/")}
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        mounts = {}
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            mounts[target] = source
        for folder in CODE_DIRS:
            target = f"/opt/airflow/{folder}"
            assert mounts.get(target) == f"./{folder}", (name, folder)
            assert copies.get(target) == folder, f"the Dockerfile does not COPY {folder} to {target}"
            assert (REPO / folder).is_dir()
        named = {source for source in mounts.values() if not source.startswith(".")}
        assert named <= set(compose["volumes"]), name
        assert mounts["/opt/airflow/models"] == "watch-models", name  # retrained models shared by all workers
    assert "postgres-db-volume:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_the_dockerfile_extends_the_locked_airflow_version():
    instructions = dockerfile_instructions()
    base = [args for word, args in instructions if word == "FROM"]
    assert len(base) == 1
    match = re.fullmatch(r"apache/airflow:(\d+\.\d+\.\d+)-python(3\.\d+)", base[0])
    assert match, base[0]
    assert match.group(1) == locked_version("apache-airflow")
    assert match.group(2) == f"{sys.version_info.major}.{sys.version_info.minor}"
    runs = [(i, args) for i, (word, args) in enumerate(instructions) if word == "RUN"]
    users = [(i, args) for i, (word, args) in enumerate(instructions) if word == "USER"]
    lock_install = [(i, args) for i, args in runs if "-r /opt/airflow/requirements.lock" in args]
    assert len(lock_install) == 1, "the Dockerfile must pip install requirements.lock once"
    index, command = lock_install[0]
    assert command.startswith("pip install") and f'"apache-airflow=={match.group(1)}"' in command
    assert [u for i, u in users if i < index][-1] == "airflow", "install the lock as the airflow user"
    assert ("COPY", "--chown=airflow:0 requirements.lock /opt/airflow/requirements.lock") in instructions


def test_the_image_trains_the_default_model_where_compose_looks_for_it(services):
    instructions = dockerfile_instructions()
    envs = " ".join(args for word, args in instructions if word == "ENV")
    assert "WATCH_MODEL_DIR=/opt/airflow/models" in envs
    train = [args for word, args in instructions if word == "RUN" and "python -m classifiers train" in args]
    assert train and "--out /opt/airflow/models" in train[0]
    assert services["airflow-worker"]["environment"]["WATCH_MODEL_DIR"] == "/opt/airflow/models"
    assert not [args for word, args in instructions if word in ("ADD", "RUN") and re.search(r"https?://", args)], \
        "nothing may be downloaded at build time beyond the package registry"
    assert "shared" not in " ".join(args for word, args in instructions if word in ("COPY", "ADD"))


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_secrets():
    ignored = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    for must in (".env", ".venv", "var", ".git"):
        assert must in ignored, f".dockerignore should exclude {must}"
    for word, args in dockerfile_instructions():
        if word != "COPY":
            continue
        for source in [a for a in args.split() if not a.startswith("--")][:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()


# --- healthchecks and start-up order -----------------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(services):
    for name in ["postgres", "redis", *AIRFLOW_SERVICES, "flower"]:
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"] and check["retries"], name
    api = services["airflow-apiserver"]["healthcheck"]["test"]
    assert api[-1] == "http://localhost:8080/api/v2/monitor/health"
    assert any(word == "EXPOSE" and "8080" in args.split() for word, args in dockerfile_instructions())


def test_healthchecks_ask_airflow_what_it_really_serves(services):
    from airflow.configuration import conf
    from airflow.jobs.dag_processor_job_runner import DagProcessorJobRunner
    from airflow.jobs.triggerer_job_runner import TriggererJobRunner

    scheduler = services["airflow-scheduler"]
    assert scheduler["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    port = conf.get("scheduler", "scheduler_health_check_server_port")
    assert scheduler["healthcheck"]["test"][-1] == f"http://localhost:{port}/health"
    for name, job in (("airflow-dag-processor", DagProcessorJobRunner), ("airflow-triggerer", TriggererJobRunner)):
        test = services[name]["healthcheck"]["test"][-1]
        assert f"--job-type {job.job_type} " in test and '--hostname "${HOSTNAME}"' in test, name
    worker = services["airflow-worker"]["healthcheck"]["test"][-1]
    app = re.search(r"celery --app (\S+) inspect ping -d \"celery@\$\{HOSTNAME\}\"", worker)
    assert app, worker
    # The app the healthcheck pings imports with the locked celery (celery 5.7 broke the provider).
    module, attribute = app.group(1).rsplit(".", 1)
    code = f"import importlib; print(type(getattr(importlib.import_module({module!r}), {attribute!r})).__name__)"
    env = dict(os.environ, AIRFLOW__CORE__EXECUTOR="CeleryExecutor")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("Celery"), done.stderr[-3000:]


def test_healthchecks_escape_the_containers_own_variables(raw_compose):
    """"$${HOSTNAME}" reaches the container as "${HOSTNAME}"; "${HOSTNAME}" would be the host's value."""
    for line in raw_compose.splitlines():
        if "HOSTNAME" in line:
            assert "$${HOSTNAME}" in line and not re.search(r"(?<!\$)\$\{HOSTNAME\}", line), line


def test_start_up_order_waits_for_healthy_dependencies(services):
    for name in [*AIRFLOW_SERVICES, "flower"]:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    init = services["airflow-init"]["depends_on"]
    assert init["postgres"]["condition"] == init["redis"]["condition"] == "service_healthy"
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, (name, target)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy: it has no check"
            assert "airflow-init" not in service or target != name


# --- airflow-init --------------------------------------------------------------------------------


def test_airflow_init_migrates_both_databases_and_writes_the_login(services, tmp_path):
    script = init_script(services)
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    steps = [line.strip() for line in script.splitlines()]
    assert steps.index("airflow db migrate") < steps.index("python -m aiwatch.cli db-upgrade")
    create, login = heredocs(script)
    assert "CREATE DATABASE" in create
    env = services["airflow-init"]["environment"]
    passwords = tmp_path / "passwords.json"
    done = subprocess.run([sys.executable, "-"], input=login, capture_output=True, text=True, timeout=60, env=dict(
        os.environ, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW_ADMIN_USER=env["AIRFLOW_ADMIN_USER"], AIRFLOW_ADMIN_PASSWORD=env["AIRFLOW_ADMIN_PASSWORD"]))
    assert done.returncode == 0, done.stderr
    assert json.loads(passwords.read_text()) == {"admin": "change-me-admin"}
    username = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(":")[0]
    assert username == env["AIRFLOW_ADMIN_USER"]


@pytest.mark.postgres
def test_airflow_init_creates_the_store_database_once(services, postgres_admin_url):
    from sqlalchemy import create_engine, text

    create = heredocs(init_script(services))[0]
    name = f"aiwatch_init_{uuid.uuid4().hex[:10]}"
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    env = dict(os.environ, WATCH_DB_URL=url)
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        first = subprocess.run([sys.executable, "-"], input=create, env=env, capture_output=True, text=True,
                               timeout=60)
        assert first.returncode == 0 and f"created database {name}" in first.stdout, first.stderr
        again = subprocess.run([sys.executable, "-"], input=create, env=env, capture_output=True, text=True,
                               timeout=60)
        assert again.returncode == 0 and f"database {name} exists" in again.stdout, again.stderr
        upgraded = subprocess.run([sys.executable, "-m", "aiwatch.cli", "db-upgrade"], env=env, capture_output=True,
                                  text=True, timeout=120)
        assert upgraded.returncode == 0 and "store at revision" in upgraded.stdout, upgraded.stderr[-2000:]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- .env.example and secrets -----------------------------------------------------------------------


def test_env_example_names_every_variable_the_compose_file_uses(raw_compose, env_example):
    used = used_variables(raw_compose)
    assert used, "the compose file interpolates nothing?"
    assert sorted(used - set(env_example)) == [], "variables used by docker-compose.yml but not in .env.example"
    assert sorted(set(env_example) - used) == [], "variables in .env.example that docker-compose.yml never uses"
    required = used_variables(raw_compose, required_only=True)
    assert {"POSTGRES_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "WATCH_DB_URL",
            "AIRFLOW_ADMIN_PASSWORD"} <= required
    assert env_example["AIRFLOW_UID"] == "50000" and "AIRFLOW_CONN_SLACK_API_DEFAULT" in env_example


def test_compose_refuses_to_start_without_the_secrets(raw_compose, env_example):
    document = yaml.safe_load(raw_compose)
    generated = tuple(GENERATED)
    filled = dict(env_example, **GENERATED)
    interpolate(document, filled)
    for secret in (*generated, "POSTGRES_PASSWORD", "WATCH_DB_URL", "AIRFLOW_ADMIN_PASSWORD"):
        assert secret in generated or env_example[secret], secret
        if secret in generated:
            assert env_example[secret] == "", f"{secret} must be left for the user to generate"
        with pytest.raises(KeyError, match=secret):
            interpolate(document, {k: v for k, v in filled.items() if k != secret})


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$|CONN_")
_SLACK_TOKEN = re.compile(r"xox[abposr]-\d+-[A-Za-z0-9-]{10,}")
_FERNET_KEY = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=")
_LONG_WORD = re.compile(r"[A-Za-z0-9_+/=-]{24,}")


def secret_looking(text: str) -> list[str]:
    """Slack tokens, Fernet keys, and long words mixing upper case, lower case and digits (random keys)."""
    randomish = [w for w in _LONG_WORD.findall(text)
                 if re.search(r"[a-z]", w) and re.search(r"[A-Z]", w) and re.search(r"\d", w)]
    return _SLACK_TOKEN.findall(text) + _FERNET_KEY.findall(text) + randomish


def test_the_secret_detector_detects(tmp_path):
    import secrets

    from cryptography.fernet import Fernet

    assert secret_looking(Fernet.generate_key().decode())
    assert secret_looking("xoxb-1234567890-abcdefghijkl")
    assert secret_looking(f"AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(32)}")
    assert not secret_looking("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=/opt/airflow/auth/passwords.json")


def test_no_secret_is_committed(raw_compose, env_example):
    for key, value in env_example.items():
        if _SECRET_NAME.search(key):
            placeholder = value == "" or value.startswith("change-me") or "xoxb-your-bot-token" in value
            assert placeholder, f".env.example: {key} looks like a real secret"
    for path in (COMPOSE_FILE, DOCKERFILE, ENV_EXAMPLE, DOCKERIGNORE):
        hits = secret_looking(path.read_text(encoding="utf-8"))
        assert not hits, f"{path.name}: secret-looking value(s) {hits}"
    # In the compose file every secret is a ${VARIABLE}, never a literal.
    document = yaml.safe_load(raw_compose)
    envs = [document["x-airflow-common"]["environment"]] + [
        s.get("environment") or {} for s in document["services"].values()]
    for env in envs:
        for key, value in env.items():
            if _SECRET_NAME.search(key) and key != "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
                assert re.fullmatch(r"\$\{[^}]+\}", str(value)), f"{key} must come from .env, got {value!r}"
            if isinstance(value, str) and "://" in value and "@" in value:
                password = value.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
                assert password == "" or password.startswith("${"), f"{key}: literal password in {value!r}"
