"""Settings and the feeds file: the one documented place where configuration is read.

Every knob is an environment variable (see the table in README.md). Reading them into a frozen
dataclass once per task keeps the rest of the library free of ``os.environ`` lookups, so tests
build a ``Settings`` directly instead of patching the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

#: The repository root when the package is installed in editable mode (plugins/aiwatch/config.py).
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def project_root(environ: Mapping[str, str] | None = None) -> Path:
    """The directory holding ``config/`` and ``var/``: ``WATCH_HOME``, else the checkout we live in."""
    environ = os.environ if environ is None else environ
    if environ.get("WATCH_HOME"):
        return Path(environ["WATCH_HOME"]).resolve()
    if (_PACKAGE_ROOT / "config").is_dir():
        return _PACKAGE_ROOT
    return Path.cwd()


def shared_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The read-only shared material (seeds, corpora) used by training, benchmarks and tests:
    ``WATCH_SHARED_DIR``, else ``../shared`` beside the checkout. Pointing it at a missing directory
    shows what a clone of the repository alone does (CI checks both)."""
    environ = os.environ if environ is None else environ
    if environ.get("WATCH_SHARED_DIR"):
        return Path(environ["WATCH_SHARED_DIR"]).resolve()
    return _PACKAGE_ROOT.parent / "shared"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting or the feeds file is wrong; the message names the variable or entry at fault."""


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def _number(environ: Mapping[str, str], name: str, default: float, kind: type = float, minimum: float = 0) -> Any:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be >= {minimum}")
    return value


def _share(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _number(environ, name, default, float, 0)
    if value > 1:
        raise ConfigError(f"{name}={environ.get(name)!r} is a share of the feeds: between 0 and 1")
    return value


_CHANNEL_RE = re.compile(r"^#?[a-z0-9][a-z0-9._\-]{0,79}$|^[CDG][A-Z0-9]{6,}$")


def _channel(environ: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    if not _CHANNEL_RE.match(raw):
        raise ConfigError(f"{name}={raw!r} is not a Slack channel (use '#name' in lower case, or a channel ID like C0123ABCD)")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything a cycle needs to know; built from the environment by :meth:`from_env`."""

    home: Path
    feeds_file: Path
    db_url: str
    allow_private_networks: bool = False
    schedule: str | None = "*/20 * * * *"
    user_agent: str = "MoroccoAIWatch/0.1 (+https://github.com/morocco-ai-watch; news monitor)"
    http_timeout_s: float = 20.0
    connect_timeout_s: float = 8.0
    max_feed_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    fetch_workers: int = 8
    per_host_limit: int = 2
    max_pages_per_cycle: int = 500
    #: Attempts at one article page before it is given up and judged on the feed's text alone.
    max_page_attempts: int = 4
    #: Seconds a feed document may take to parse before the feed fails (large documents only).
    feed_parse_timeout_s: float = 20.0
    feed_backoff_base_s: float = 300.0
    #: A cycle in which more than this share of its feeds failed (or every feed did) fails, so the run is red.
    max_failed_feeds_share: float = 1.0
    #: A feed failing for this many hours is announced once in the ops channel (per outage).
    feed_outage_alert_h: float = 24.0
    feed_backoff_cap_s: float = 6 * 3600.0
    model_dir: Path | None = None
    classify_batch: int = 2000
    slack_conn_id: str = "slack_api_default"
    slack_channel: str = "#morocco-ai-watch"
    ops_channel: str = "#morocco-ai-watch-ops"
    review_channel: str | None = None
    outbox_file: Path | None = None
    gazetteer_file: Path | None = None
    #: Relevant articles first seen longer ago than this are not alerted (e.g. old ones re-scored by a new model).
    alert_max_age_h: float = 72.0
    #: Reports of the same partners within this many days are one event.
    event_window_days: float = 10.0
    #: Scores in [review_min_score, alert threshold) go to the daily review digest instead of an alert.
    review_min_score: float = 0.25
    #: Longest Retry-After honoured by sleeping inside a run; longer ones leave messages for the next run.
    slack_max_wait_s: float = 30.0
    #: New human labels needed since the live model was trained before feedback triggers retraining.
    retrain_min_labels: int = 10
    #: How long after posting an alert or digest line its reactions are still read as feedback.
    feedback_days: float = 14.0
    #: Feeds polled by one poll_feed task instance (1: one task per feed, each named after its feed).
    feeds_per_task: int = 1
    #: Airflow's api-server, asked to update the labels Asset when labels come from outside a task
    #: (None: the CLI asks http://localhost:8080, the operator's view the api-server it runs in).
    airflow_api_url: str | None = None
    #: "host:port" pairs reachable even with the private-network guard on (tests use it; not a user knob).
    private_allowlist: frozenset[str] = field(default_factory=frozenset)
    #: (host, address) pairs answered without DNS: tests serve stand-ins of real hosts (news.google.com)
    #: on loopback. Not a user knob.
    static_hosts: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = project_root(env)
        var = Path(env.get("WATCH_DATA_DIR") or home / "var")
        feeds_file = Path(env.get("WATCH_FEEDS_FILE") or home / "config" / "feeds.yaml")
        if not feeds_file.is_absolute():
            feeds_file = (Path.cwd() / feeds_file) if (Path.cwd() / feeds_file).exists() else home / feeds_file
        schedule = env.get("WATCH_SCHEDULE", "*/20 * * * *").strip()
        return cls(
            home=home,
            feeds_file=feeds_file,
            db_url=env.get("WATCH_DB_URL") or f"sqlite:///{var / 'watch.db'}",
            allow_private_networks=_bool(env, "WATCH_ALLOW_PRIVATE_NETWORKS", False),
            schedule=None if schedule.lower() in {"", "none", "off"} else schedule,
            user_agent=env.get("WATCH_USER_AGENT") or cls.user_agent,
            http_timeout_s=_number(env, "WATCH_HTTP_TIMEOUT", cls.http_timeout_s, float, 1),
            max_feed_bytes=_number(env, "WATCH_MAX_FEED_BYTES", cls.max_feed_bytes, int, 1024),
            max_page_bytes=_number(env, "WATCH_MAX_PAGE_BYTES", cls.max_page_bytes, int, 1024),
            max_redirects=_number(env, "WATCH_MAX_REDIRECTS", cls.max_redirects, int, 0),
            fetch_workers=_number(env, "WATCH_FETCH_WORKERS", cls.fetch_workers, int, 1),
            per_host_limit=_number(env, "WATCH_PER_HOST_LIMIT", cls.per_host_limit, int, 1),
            max_pages_per_cycle=_number(env, "WATCH_MAX_PAGES_PER_CYCLE", cls.max_pages_per_cycle, int, 1),
            max_page_attempts=_number(env, "WATCH_MAX_PAGE_ATTEMPTS", cls.max_page_attempts, int, 1),
            feed_parse_timeout_s=_number(env, "WATCH_FEED_PARSE_TIMEOUT", cls.feed_parse_timeout_s, float, 1),
            max_failed_feeds_share=_share(env, "WATCH_MAX_FAILED_FEEDS_SHARE", cls.max_failed_feeds_share),
            feed_outage_alert_h=_number(env, "WATCH_FEED_OUTAGE_ALERT_HOURS", cls.feed_outage_alert_h, float, 0),
            model_dir=Path(env.get("WATCH_MODEL_DIR") or var / "models"),
            slack_conn_id=env.get("WATCH_SLACK_CONN_ID") or cls.slack_conn_id,
            slack_channel=_channel(env, "WATCH_SLACK_CHANNEL", cls.slack_channel),
            ops_channel=_channel(env, "WATCH_OPS_CHANNEL", cls.ops_channel),
            review_channel=_channel(env, "WATCH_REVIEW_CHANNEL", None),
            outbox_file=Path(env.get("WATCH_OUTBOX_FILE") or var / "outbox.jsonl"),
            gazetteer_file=Path(env["WATCH_GAZETTEER_FILE"]) if env.get("WATCH_GAZETTEER_FILE") else None,
            alert_max_age_h=_number(env, "WATCH_ALERT_MAX_AGE_HOURS", cls.alert_max_age_h, float, 0),
            event_window_days=_number(env, "WATCH_EVENT_WINDOW_DAYS", cls.event_window_days, float, 0),
            review_min_score=_number(env, "WATCH_REVIEW_MIN_SCORE", cls.review_min_score, float, 0),
            slack_max_wait_s=_number(env, "WATCH_SLACK_MAX_WAIT", cls.slack_max_wait_s, float, 0),
            retrain_min_labels=_number(env, "WATCH_RETRAIN_MIN_LABELS", cls.retrain_min_labels, int, 1),
            feeds_per_task=_number(env, "WATCH_FEEDS_PER_TASK", cls.feeds_per_task, int, 1),
            airflow_api_url=env["WATCH_AIRFLOW_API_URL"].rstrip("/") if env.get("WATCH_AIRFLOW_API_URL") else None,
        )

    @property
    def var_dir(self) -> Path:
        if self.db_url.startswith("sqlite:///"):
            return Path(self.db_url.removeprefix("sqlite:///")).parent
        return self.home / "var"

    @property
    def outbox_path(self) -> Path:
        """Where dry-run payloads go (WATCH_OUTBOX_FILE, default var/outbox.jsonl)."""
        return self.outbox_file or self.var_dir / "outbox.jsonl"

    @property
    def gazetteer_path(self) -> Path:
        """The topic's gazetteer of parties (WATCH_GAZETTEER_FILE, default config/gazetteer.yaml)."""
        return self.gazetteer_file or self.home / "config" / "gazetteer.yaml"

    @property
    def digest_channel(self) -> str:
        """The review digest's channel: WATCH_REVIEW_CHANNEL, else the ops channel."""
        return self.review_channel or self.ops_channel

    @property
    def models(self) -> Path:
        """The model registry (WATCH_MODEL_DIR, default var/models)."""
        return self.model_dir or self.var_dir / "models"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# --- the feeds file -------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    lang: str | None = None
    #: The outlet's name as readers know it ("Le Matin"): shown in Slack replies and outlet counts.
    title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "lang": self.lang, "title": self.title}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feed:
        return cls(name=data["name"], url=data["url"], lang=data.get("lang"), title=data.get("title"))


def parse_feeds(document: Any, source: str = "feeds file") -> list[Feed]:
    """Validate the parsed YAML of a feeds file; every error names the entry at fault."""
    if not isinstance(document, Mapping) or "feeds" not in document:
        raise ConfigError(f"{source}: expected a mapping with a 'feeds:' list at the top")
    entries = document["feeds"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'feeds' must be a list, got {type(entries).__name__}")
    feeds: list[Feed] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"{source}: feeds[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a mapping with name and url, got {entry!r}")
        name = entry.get("name")
        if isinstance(name, str):
            where += f" (name={name!r})"
        unknown = set(entry) - {"name", "url", "lang", "enabled", "title"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: name, url, lang, title, enabled")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(f"{where}: 'name' must be 1-64 letters, digits, '-', '_' or '.', got {name!r}")
        if name in seen:
            raise ConfigError(f"{where}: duplicate name, already used by feeds[{seen[name]}]")
        seen[name] = index
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"{where}: 'url' is missing")
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}: 'url' must be an http(s) URL with a host, got {url!r}")
        lang = entry.get("lang")
        if lang is not None and (not isinstance(lang, str) or not _LANG_RE.match(lang)):
            raise ConfigError(f"{where}: 'lang' must be a 2-3 letter code such as fr, ar, en, es; got {lang!r}")
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: 'enabled' must be true or false, got {enabled!r}")
        title = entry.get("title")
        if title is not None and (not isinstance(title, str) or not title.strip() or len(title) > 120):
            raise ConfigError(f"{where}: 'title' must be the outlet's name (1-120 characters), got {title!r}")
        if enabled:
            feeds.append(Feed(name=name, url=url, lang=lang, title=" ".join(title.split()) if title else None))
    return feeds


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load that refuses a mapping with the same key twice (PyYAML keeps the last silently:
    a second ``feeds:`` list would quietly replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse a YAML configuration document strictly: safe types only, no duplicate keys."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_feeds(path: Path | str) -> list[Feed]:
    """Read and validate a feeds YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"feeds file {path} does not exist (set WATCH_FEEDS_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"feeds file {path} cannot be read: {exc}") from None
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"feeds file {yaml_error_where(path, exc)}") from None
    return parse_feeds(document, source=str(path))


def yaml_error_where(path: Path | str, exc: yaml.YAMLError) -> str:
    """``path:line: what is wrong`` for a YAML error, on one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"{path} is not valid YAML: {' '.join(str(exc).split())}"
    return f"{path}:{mark.line + 1}: not valid YAML: {problem}"
