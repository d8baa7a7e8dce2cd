from pathlib import Path

import pytest
from aiwatch.config import ConfigError, Settings, load_feeds, parse_feeds


def test_shipped_feeds_file_is_valid():
    feeds = load_feeds(Path(__file__).resolve().parents[1] / "config" / "feeds.yaml")
    assert len(feeds) >= 10
    assert len({f.name for f in feeds}) == len(feeds)
    assert all(f.url.startswith(("http://", "https://")) for f in feeds)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"nope": []}, "'feeds:' list"),
        ({"feeds": {"a": 1}}, "must be a list"),
        ({"feeds": ["x"]}, "feeds[0]"),
        ({"feeds": [{"name": "ok", "url": "https://a.example/rss"}, {"name": "bad", "url": "ftp://x/y"}]},
         "feeds[1] (name='bad'): 'url' must be an http(s) URL"),
        ({"feeds": [{"name": "a", "url": "https://a.example/rss"}, {"name": "a", "url": "https://b.example/"}]},
         "duplicate name"),
        ({"feeds": [{"name": "has space", "url": "https://a.example/"}]}, "'name' must be"),
        ({"feeds": [{"name": "x", "url": "https://a.example/", "lang": "French"}]}, "'lang'"),
        ({"feeds": [{"name": "x", "url": "https://a.example/", "langue": "fr"}]}, "unknown key"),
        ({"feeds": [{"name": "x"}]}, "'url' is missing"),
    ],
)
def test_bad_feeds_file_names_the_entry(document, message):
    with pytest.raises(ConfigError) as info:
        parse_feeds(document, source="feeds.yaml")
    assert message in str(info.value)


def test_disabled_feeds_are_skipped():
    feeds = parse_feeds({"feeds": [{"name": "a", "url": "https://a.example/", "enabled": False},
                                   {"name": "b", "url": "https://b.example/", "lang": "ar"}]})
    assert [f.name for f in feeds] == ["b"] and feeds[0].lang == "ar"


def test_load_feeds_reports_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_feeds(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("feeds: [\n  - {name: a", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_feeds(bad)


def test_settings_from_env(tmp_path):
    env = {"WATCH_FEEDS_FILE": str(tmp_path / "f.yaml"), "WATCH_DB_URL": "postgresql+psycopg://u@h/db",
           "WATCH_ALLOW_PRIVATE_NETWORKS": "yes", "WATCH_SCHEDULE": "none", "WATCH_HTTP_TIMEOUT": "7"}
    settings = Settings.from_env(env)
    assert settings.feeds_file == tmp_path / "f.yaml"
    assert settings.db_url.startswith("postgresql+psycopg://")
    assert settings.allow_private_networks is True
    assert settings.schedule is None
    assert settings.http_timeout_s == 7.0


def test_settings_defaults_and_errors():
    settings = Settings.from_env({})
    assert settings.allow_private_networks is False
    assert settings.db_url.startswith("sqlite:///") and settings.db_url.endswith("var/watch.db")
    assert settings.feeds_file.name == "feeds.yaml"
    with pytest.raises(ConfigError, match="WATCH_ALLOW_PRIVATE_NETWORKS"):
        Settings.from_env({"WATCH_ALLOW_PRIVATE_NETWORKS": "maybe"})
    with pytest.raises(ConfigError, match="WATCH_HTTP_TIMEOUT"):
        Settings.from_env({"WATCH_HTTP_TIMEOUT": "soon"})
