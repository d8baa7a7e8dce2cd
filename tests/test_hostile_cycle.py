"""A bad item fails alone, through whole cycles: feeds, pages, verdicts, events, messages, processes.

Issue 12's promise: no input can stop a cycle, lose a story or slip past the address guard. Each
test builds the hostile case on loopback, runs real cycles, and checks that the bad item is recorded
with its reason while the good partnership stories beside it are classified and alerted exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiwatch import alerts, cycle
from aiwatch import extract as extract_module
from aiwatch import pages as pages_module
from aiwatch.cli import main as cli_main
from aiwatch.devserver import DevServer, Route
from aiwatch.slack import blocks as blocks_module
from aiwatch.slack.gateway import SlackGateway, make_client
from aiwatch.store import Store, outbox, repo
from aiwatch.store.lock import StoreBusy, exclusive
from aiwatch.store.models import Article, Classification, FeedState
from conftest import REPO, write_feeds
from feedgen import article_html, item, rss
from gnews_standin import GoogleNewsStandIn
from slack_standin import SlackStandIn
from sqlalchemy import select

CHANNEL = "#morocco-ai-watch"

#: Good partnership stories, one per hostile feed, each with its own partner (so each is its own event).
GOOD = {
    "mistral": ("Le Maroc signe un mémorandum d'entente avec Mistral AI dans l'intelligence artificielle",
                "Le ministère de la Transition numérique a signé vendredi à Rabat un mémorandum d'entente avec "
                "la société Mistral AI pour développer les compétences en intelligence artificielle, la recherche "
                "appliquée et les start-up marocaines."),
    "openai": ("Morocco signs an artificial intelligence agreement with OpenAI",
               "Morocco's Ministry of Digital Transition signed an agreement with OpenAI on Monday in Rabat to "
               "train Moroccan engineers in generative artificial intelligence and to support local AI start-ups."),
    "nvidia": ("Le Maroc et Nvidia signent un accord pour un centre de calcul dédié à l'intelligence artificielle",
               "Le gouvernement marocain et Nvidia ont signé un accord de partenariat pour installer à Benguerir un "
               "centre de calcul dédié à l'intelligence artificielle et former des chercheurs marocains."),
    "microsoft": ("Microsoft et l'Agence de développement du digital signent une convention sur l'IA générative",
                  "L'Agence de développement du digital (ADD) et Microsoft ont signé une convention de partenariat "
                  "pour former 30 000 Marocains à l'intelligence artificielle générative."),
    "ibm": ("IBM et l'UM6P signent un accord de partenariat en intelligence artificielle",
            "L'Université Mohammed VI Polytechnique et IBM ont signé un accord de partenariat pour créer à "
            "Benguerir un laboratoire commun de recherche en intelligence artificielle."),
    "oracle": ("Oracle et le Maroc signent un mémorandum sur l'intelligence artificielle et le cloud",
               "Le ministère marocain de la Transition numérique et Oracle ont signé un mémorandum d'entente pour "
               "déployer des solutions d'intelligence artificielle dans l'administration et former des ingénieurs."),
    "google": ("Google et le Maroc signent un partenariat pour former 100 000 jeunes à l'intelligence artificielle",
               "Le ministère de la Transition numérique et Google ont signé à Rabat un partenariat pour former "
               "100 000 jeunes Marocains à l'intelligence artificielle et soutenir les start-up de l'IA."),
}


@pytest.fixture
def slack():
    with SlackStandIn(token="xoxb-test") as standin:
        yield standin


def gateway_for(slack: SlackStandIn) -> SlackGateway:
    return SlackGateway(make_client("xoxb-test", base_url=slack.base_url, timeout_s=3), sleep=lambda _s: None)


def headers(message: dict) -> str:
    return " ".join(b["text"]["text"] for b in message.get("blocks", []) if b["type"] == "header")


def alerts_posted(slack: SlackStandIn) -> list[dict]:
    return [m for m in slack.messages(CHANNEL)]


def good_item(server: DevServer, key: str, path: str | None = None) -> str:
    title, body = GOOD[key]
    path = path or f"/good/{key}.html"
    server.add(path, body=article_html(title, body))
    return item(title, server.url(path), f"good-{key}", body[:160])


def publish(server: DevServer, path: str, body: bytes, **route) -> None:
    server.add(path, Route(body=body, content_type="application/rss+xml; charset=utf-8", **route))


def stored(settings) -> list[Article]:
    return cycle.open_store(settings).read(lambda s: list(s.scalars(select(Article).order_by(Article.id))))


def by_title(settings, fragment: str) -> Article:
    found = [a for a in stored(settings) if fragment in a.title]
    assert len(found) == 1, [a.title for a in stored(settings)]
    return found[0]


# --- one bad URL costs one article ---------------------------------------------------------------------


def test_unfetchable_links_cost_their_article_only_and_the_cycle_ends_with_its_summary(settings, server, slack):
    """Issue 12's worst case: one bad URL used to stop every cycle from then on."""
    server.add("/to-js", Route(status=302, headers={"Location": "javascript:alert(1)"}))
    server.add("/to-backslash", Route(status=302, headers={"Location": "http:\\\\169.254.169.254/x"}))
    server.add("/to-idna", Route(status=302, headers={"Location": "http://xn--ls8h.la/"}))
    bad = [item("Un lien de cent mille caractères", "http://example.ma/" + "a" * 100_000, "b1", "Résumé gardé 1."),
           item("Un hôte IDNA invalide", "http://xn--zz.example/x", "b2", "Résumé gardé 2."),
           item("Un emoji comme nom de domaine", "http://xn--ls8h.la/", "b3", "Résumé gardé 3."),
           item("Une redirection vers javascript", server.url("/to-js"), "b4", "Résumé gardé 4."),
           item("Une redirection avec des barres obliques inverses", server.url("/to-backslash"), "b5", "Résumé 5."),
           item("Une redirection vers un hôte invalide", server.url("/to-idna"), "b6", "Résumé gardé 6.")]
    publish(server, "/hostile.xml", rss(*bad, good_item(server, "mistral")))
    write_feeds(settings, [{"name": "hostile", "url": server.url("/hostile.xml"), "lang": "fr"}])
    first = cycle.run_cycle(settings.with_(allow_private_networks=False,
                                           private_allowlist=frozenset({server.host_port})), gateway=gateway_for(slack))
    assert first.missing_steps == [], first.text()
    assert first.new_articles == 7 and first.partial == 6 and first.extracted == 1, first.text()
    assert first.partial_reasons == {"bad-url": 5, "blocked-address": 1}, first.partial_reasons
    assert first.classified == 7 and first.relevant >= 1
    for article in stored(settings):
        if article.fetch_status == "failed":
            assert article.fetch_error.split(":", 1)[0] in ("bad-url", "blocked-address")
            assert article.summary.startswith("Résumé") and len(article.url) <= 4000
    assert len([m for m in slack.messages(CHANNEL) if "Mistral" in headers(m)]) == 1
    second = cycle.run_cycle(settings.with_(allow_private_networks=False,
                                            private_allowlist=frozenset({server.host_port})),
                             gateway=gateway_for(slack))
    assert second.missing_steps == [] and second.new_articles == 0 and second.posted == 0


def test_a_page_that_breaks_extraction_fails_alone_and_is_given_up(settings, server, monkeypatch):
    real = extract_module.extract_article

    def poisoned(body, url, *args, **kwargs):
        if "poison" in url:
            raise RecursionError("maximum recursion depth exceeded in the parser")
        return real(body, url, *args, **kwargs)

    monkeypatch.setattr(pages_module, "extract_article", poisoned)
    server.add("/poison.html", body=article_html("Une page piégée", GOOD["openai"][1]))
    publish(server, "/f.xml", rss(item("Une page qui casse l'extracteur", server.url("/poison.html"), "p",
                                       "Son résumé reste."), good_item(server, "openai")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    limited = settings.with_(max_page_attempts=2)
    first = cycle.run_cycle(limited)
    assert first.missing_steps == [] and first.extracted == 1 and first.deferred == 1
    assert first.retry_reasons == {"internal-error": 1}
    poison = by_title(settings, "piégée".replace("piégée", "casse"))
    assert poison.fetch_status == "deferred" and "RecursionError" in poison.fetch_error
    second = cycle.run_cycle(limited)
    assert second.given_up == 1 and second.classified == 1
    poison = by_title(settings, "casse")
    assert poison.fetch_status == "given-up" and poison.fetch_error.startswith("given-up after 2 attempts")


def test_a_page_that_kills_the_process_is_counted_and_given_up(settings, server):
    """Attempts are counted when a page is claimed, before it is fetched: a page that crashes the
    whole process (nothing saved) still runs out of attempts, and is never retried forever."""
    publish(server, "/f.xml", rss(item("Une page qui tue le processus", server.url("/boom"), "k", "Résumé.")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    run_id = cycle.new_run_id()
    for feed in cycle.prepare(settings):
        cycle.poll_feed(settings, feed, run_id)
    store = cycle.open_store(settings)
    for _ in range(3):  # three crashes: claimed, never saved
        assert len(repo.claim_pages(store, 10, max_attempts=3).jobs) == 1
    claim = repo.claim_pages(store, 10, max_attempts=3)
    assert claim.jobs == [] and claim.given_up == 1
    [article] = stored(settings)
    assert article.fetch_status == "given-up" and "process stopped" in article.fetch_error
    assert repo.unclassified(store, "any-model", 10)[0].article_id == article.id  # still judged


def test_a_host_that_asks_to_wait_does_not_use_up_attempts(settings, server):
    publish(server, "/f.xml", rss(*[item(f"Article {i} d'un site qui limite", server.url(f"/p/{i}"), str(i))
                                    for i in range(3)]))
    for i in range(3):
        server.add(f"/p/{i}", status=429, headers={"Retry-After": "1"})
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    cycle.run_cycle(settings.with_(per_host_limit=1, fetch_workers=1))
    attempts = sorted(a.fetch_attempts for a in stored(settings))
    assert attempts == [0, 0, 1]  # one request answered 429; the two never sent cost nothing


# --- every other stage ------------------------------------------------------------------------------------


def test_one_feed_that_makes_the_pipeline_raise_fails_alone_with_its_reason(settings, server, monkeypatch):
    publish(server, "/good.xml", rss(good_item(server, "nvidia")))
    publish(server, "/evil.xml", rss(item("Une entrée que le magasin refuse", server.url("/x"), "e")))
    real = repo.add_entries

    def refuse(store, feed, entries, run_id, now=None):
        if feed.name == "evil":
            raise ValueError("the store refused an entry")
        return real(store, feed, entries, run_id, now)

    monkeypatch.setattr(repo, "add_entries", refuse)
    write_feeds(settings, [{"name": "evil", "url": server.url("/evil.xml")},
                           {"name": "good", "url": server.url("/good.xml")}])
    summary = cycle.run_cycle(settings)
    assert summary.missing_steps == [] and summary.feeds_ok == 1
    assert summary.feeds_failed["evil"].startswith("internal-error: ValueError")
    state = cycle.open_store(settings).read(lambda s: s.get(FeedState, "evil"))
    assert state.consecutive_failures == 1 and "refused an entry" in state.last_error


def test_one_article_the_classifier_chokes_on_fails_alone(settings, server, slack, monkeypatch):
    from classifiers.model import PartnershipModel

    real = PartnershipModel.predict

    def choke(self, rows):
        if any("poison" in row["title"] for row in rows):
            raise ValueError("the model cannot read this article")
        return real(self, rows)

    monkeypatch.setattr(PartnershipModel, "predict", choke)
    publish(server, "/f.xml", rss(item("Un article poison pour le modèle", server.url("/p"), "p"),
                                  good_item(server, "microsoft")))
    server.add("/p", body=article_html("Un article poison pour le modèle", GOOD["ibm"][1]))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert summary.missing_steps == [] and summary.classified == 2 and summary.classify_errors == 1
    assert "1 could not be scored" in summary.text()
    verdicts = cycle.open_store(settings).read(lambda s: {c.article_id: c for c in s.scalars(select(Classification))})
    poison = by_title(settings, "poison")
    assert verdicts[poison.id].label == 0 and "cannot read this article" in verdicts[poison.id].error
    assert len([m for m in slack.messages(CHANNEL) if "Microsoft" in headers(m)]) == 1
    assert cycle.run_cycle(settings, gateway=gateway_for(slack)).classified == 0  # not retried forever


def test_one_event_the_composer_cannot_build_fails_alone(settings, server, slack, monkeypatch):
    real = blocks_module.alert_message

    def broken(view):
        if "IBM" in view.headline:
            raise KeyError("a field the template needs")
        return real(view)

    monkeypatch.setattr(blocks_module, "alert_message", broken)
    publish(server, "/f.xml", rss(good_item(server, "ibm"), good_item(server, "oracle")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert summary.missing_steps == [] and summary.compose_errors == 1 and summary.alerts_composed == 1
    assert "failed alone" in summary.text()
    assert [headers(m) for m in slack.messages(CHANNEL)] and all("IBM" not in headers(m)
                                                                 for m in slack.messages(CHANNEL))
    monkeypatch.setattr(blocks_module, "alert_message", real)  # the bug is fixed: the next run sends it
    cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert len([m for m in slack.messages(CHANNEL) if "IBM" in headers(m)]) == 1


def test_one_message_that_breaks_delivery_fails_alone(settings, server, slack, monkeypatch):
    publish(server, "/f.xml", rss(good_item(server, "google"), good_item(server, "mistral")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    real = alerts._send

    def explode(store, gateway, row, parent):
        if "Google" in json.dumps(row.payload):
            raise TypeError("an unexpected payload shape")
        return real(store, gateway, row, parent)

    monkeypatch.setattr(alerts, "_send", explode)
    summary = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert summary.missing_steps == [] and summary.failed == 1 and summary.posted >= 1
    rows = outbox.deliverable(Store(settings.db_url))
    failed = Store(settings.db_url).read(lambda s: [m for m in s.scalars(select(outbox.OutboxMessage))
                                                    if m.state == "failed"])
    assert rows == [] and len(failed) == 1 and failed[0].last_error.startswith("internal-error: TypeError")


def test_a_failed_classify_step_does_not_stop_older_pending_messages(settings, server, slack, tmp_path):
    publish(server, "/f.xml", rss(good_item(server, "nvidia")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    cycle.run_cycle(settings)  # dry-run: no gateway; the alert is written to the outbox file
    store = Store(settings.db_url)
    outbox.enqueue(store, [outbox.NewMessage(key="alert:older", kind="alert", channel=CHANNEL,
                                             payload=blocks_module.digest_header_message(
                                                 __import__("datetime").date(2025, 9, 1), 0, 0.5))], "old-run")
    broken = tmp_path / "broken-models"
    broken.mkdir()
    (broken / "LIVE").write_text("v0042\n")
    summary = cycle.run_cycle(settings.with_(model_dir=broken), gateway=gateway_for(slack))
    assert summary.missing_steps == ["classify"], summary.text()
    assert "v0042" in summary.step_errors["classify"] and "promote" in summary.step_errors["classify"]
    assert summary.posted == 1  # the older message went out anyway
    assert "INCOMPLETE" in summary.text() and "promote an existing one" in summary.text()


# --- re-classification ---------------------------------------------------------------------------------------


def test_a_story_first_seen_garbled_is_judged_again_when_its_text_changes(settings, server, slack):
    title = "المغرب يوقع مذكرة تفاهم مع شركة ميسترال للذكاء الاصطناعي"
    summary = "وقعت وزارة الانتقال الرقمي وإصلاح الإدارة مذكرة تفاهم مع شركة ميسترال الفرنسية في مجال الذكاء الاصطناعي."
    garbled = title.encode("utf-8").decode("cp1256", "replace")
    server.add("/p", status=404)  # no page: the story is judged on the feed's text alone
    publish(server, "/f.xml", rss(item(garbled, server.url("/p"), "g", summary.encode().decode("cp1256", "replace"))))
    write_feeds(settings, [{"name": "ar", "url": server.url("/f.xml"), "lang": "ar"}])
    first = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert first.classified == 1 and first.relevant == 0 and first.posted == 0
    publish(server, "/f.xml", rss(item(title, server.url("/p"), "g", summary)))  # the outlet fixes its feed
    second = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert second.updated_articles == 1 and second.rescored == 1 and second.relevant == 1, second.text()
    assert "re-scored after their text changed" in second.text()
    assert len(slack.messages(CHANNEL)) == 1
    third = cycle.run_cycle(settings, gateway=gateway_for(slack))
    assert third.classified == 0 and third.posted == 0


# --- processes and state -------------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _slow_cycle(settings, tmp_path, slow: DevServer, pages: int, preamble: str = "") -> subprocess.Popen:
    """A CLI cycle in a child process over ``pages`` slow pages, with two extraction workers."""
    for i in range(pages):
        slow.add(f"/p/{i}", body=article_html(f"Article {i}", f"Texte distinct numéro {i} " * 40))
    slow.add("/f.xml", Route(body=rss(*[item(f"Un article numéro {i} du flux", slow.url(f"/p/{i}"), str(i))
                                        for i in range(pages)]), content_type="application/rss+xml"))
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(json.dumps({"feeds": [{"name": "slow", "url": slow.url("/f.xml")}]}))
    env = dict(os.environ, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=settings.db_url,
               WATCH_MODEL_DIR=str(settings.models), WATCH_ALLOW_PRIVATE_NETWORKS="1",
               WATCH_OUTBOX_FILE=str(tmp_path / "outbox.jsonl"), WATCH_FETCH_WORKERS="2")
    code = (preamble + "import os; os.sched_setaffinity(0, {0, 1}) if len(os.sched_getaffinity(0)) < 2 and "
            "os.cpu_count() > 1 else None\nfrom aiwatch import pages\npages.extraction_processes = "
            "lambda n, cores=None: 2\nfrom aiwatch.cli import main\nmain(['cycle'])")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _workers_of(process: subprocess.Popen) -> set[int]:
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        workers = {c for c in _children(process.pid) if _alive(c)}
        time.sleep(0.1)
    assert len(workers) >= 2, "the cycle never started its extraction workers"
    return workers


def _survivors(workers: set[int]) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    survivors = [w for w in workers if _alive(w)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    return survivors


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find child processes")
def test_a_cycle_killed_with_sigkill_leaves_no_extraction_worker_behind(settings, tmp_path):
    with DevServer(latency_s=0.3) as slow:
        process = _slow_cycle(settings, tmp_path, slow, 40)
        workers = _workers_of(process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert _survivors(workers) == [], "extraction workers outlived their killed parent"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find child processes")
def test_sigterm_under_a_host_that_handles_it_stops_fetching_and_the_workers(settings, tmp_path):
    """Airflow's task runner answers SIGTERM by calling the operator's on_kill and going on; the fetch
    step must stop downloading at once (not after every queued page), keep what it stored, and leave
    no worker behind."""
    pages = 150  # 0.3 s each over two fetching threads: over 20 s if the SIGTERM were ignored
    with DevServer(latency_s=0.3) as slow:
        process = _slow_cycle(settings, tmp_path, slow, pages,
                              preamble="import signal; signal.signal(signal.SIGTERM, lambda s, f: None)\n")
        workers = _workers_of(process)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        try:
            process.wait(timeout=60)
        finally:
            process.kill()
        assert time.monotonic() - stopped < 12, "the cycle went on fetching after SIGTERM"
        assert _survivors(workers) == [], "extraction workers outlived the stopped fetch step"
    fetched = Store(settings.db_url).read(
        lambda s: len(list(s.scalars(select(Article).where(Article.fetch_status == "ok")))))
    assert fetched < pages / 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_cycle_at_a_time_per_store(settings, backend, request):
    url = settings.db_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url)
    with exclusive(store, "cycle"):
        with pytest.raises(StoreBusy, match="another cycle is already running on this store"):
            with exclusive(Store(url), "cycle"):
                pass
        other = threading.Thread(target=lambda: None)
        other.start()
        other.join()
    with exclusive(Store(url), "cycle"):  # released when the holder is done
        pass


def test_a_second_cli_cycle_exits_with_a_clear_message(settings, tmp_path, capsys, monkeypatch):
    write_feeds(settings, [])
    monkeypatch.setenv("WATCH_FEEDS_FILE", str(settings.feeds_file))
    monkeypatch.setenv("WATCH_DB_URL", settings.db_url)
    monkeypatch.setenv("WATCH_MODEL_DIR", str(settings.models))
    with exclusive(Store(settings.db_url), "cycle"):
        code = cli_main(["cycle"])
    assert code == 3
    err = capsys.readouterr().err
    assert "not started: another cycle is already running on this store" in err and f"process {os.getpid()}" in err


def test_dry_run_payloads_are_written_once_even_after_a_kill(settings, server, tmp_path, monkeypatch):
    publish(server, "/f.xml", rss(good_item(server, "oracle")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    outbox_file = tmp_path / "dry.jsonl"
    local = settings.with_(outbox_file=outbox_file)
    real_mark = outbox.mark_dry_run
    monkeypatch.setattr(outbox, "mark_dry_run", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        cycle.run_cycle(local)  # killed between writing the payload and marking it
    monkeypatch.setattr(outbox, "mark_dry_run", real_mark)
    summary = cycle.run_cycle(local)
    assert summary.dry_run >= 1
    keys = [json.loads(line)["key"] for line in outbox_file.read_text().splitlines()]
    assert len(keys) == len(set(keys)) and any(k.startswith("alert:") for k in keys)


@pytest.mark.postgres
def test_summary_counts_are_right_on_postgresql(settings, demo_server, postgres_url, tmp_path):
    write_feeds(settings, [{"name": n, "url": demo_server.url(f"/{n}/feed.xml"), "lang": lang}
                           for n, lang in [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]])
    pg = settings.with_(db_url=postgres_url, outbox_file=tmp_path / "outbox.jsonl")
    summary = cycle.run_cycle(pg)
    rows = Store(postgres_url).read(lambda s: list(s.scalars(select(outbox.OutboxMessage))))
    assert summary.alerts_composed == sum(r.kind == "alert" for r in rows) > 0
    assert summary.replies_composed == sum(r.kind == "followup" for r in rows)
    assert summary.classified > 0 and summary.new_articles > 0
    assert "-" not in summary.text().split("composed ")[1].split(" alerts")[0]
    again = cycle.run_cycle(pg)
    assert again.alerts_composed == 0 and again.replies_composed == 0


# --- a broken registry, an unreachable store ------------------------------------------------------------------


def test_a_tampered_model_says_what_to_do(settings, server, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(settings.models, models)
    live = (models / "LIVE").read_text().strip()
    with (models / live / "model.skops").open("ab") as handle:
        handle.write(b"tampered")
    publish(server, "/f.xml", rss(good_item(server, "nvidia")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings.with_(model_dir=models))
    assert summary.missing_steps == ["classify"]
    assert "does not match the checksum" in summary.step_errors["classify"]
    assert "retrain" in summary.step_errors["classify"]


def test_a_registry_that_cannot_be_written_says_so(settings, server, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    publish(server, "/f.xml", rss(good_item(server, "nvidia")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings.with_(model_dir=blocker / "models"))
    assert summary.missing_steps == ["classify"]
    assert "cannot be written" in summary.step_errors["classify"]
    assert "WATCH_MODEL_DIR" in summary.step_errors["classify"]


def _broken_registry(case: str, settings, tmp_path: Path) -> Path:
    import shutil

    if case == "missing-version":
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "LIVE").write_text("v0009\n")
        return broken
    if case == "tampered":
        broken = tmp_path / "models"
        shutil.copytree(settings.models, broken)
        live = (broken / "LIVE").read_text().strip()
        with (broken / live / "model.skops").open("ab") as handle:
            handle.write(b"tampered")
        return broken
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return blocker / "models"


@pytest.mark.parametrize("case, says", [("missing-version", "v0009"), ("tampered", "checksum"),
                                        ("unwritable", "cannot be written")])
def test_cli_cycle_exits_non_zero_when_a_step_failed(settings, server, tmp_path, monkeypatch, capsys, case, says):
    broken = _broken_registry(case, settings, tmp_path)
    publish(server, "/f.xml", rss(good_item(server, "nvidia")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    for name, value in {"WATCH_FEEDS_FILE": str(settings.feeds_file), "WATCH_DB_URL": settings.db_url,
                        "WATCH_MODEL_DIR": str(broken), "WATCH_ALLOW_PRIVATE_NETWORKS": "1",
                        "WATCH_OUTBOX_FILE": str(tmp_path / "o.jsonl")}.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["cycle"]) == 1
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out and says in out


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/watch",
    "postgresql+psycopg://nobody:s3cret@127.0.0.1:5432/no_such_database_here",
    "sqlite:////proc/no-such-dir/watch.db",
    "notadb://x",
])
@pytest.mark.parametrize("command", ["cycle", "db-upgrade", "summary"])
def test_an_unreachable_store_is_named_with_its_password_hidden(url, command, monkeypatch, capsys, tmp_path):
    if "5432" in url:
        pytest.importorskip("psycopg")
        import socket

        try:
            socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        except OSError:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (this case needs a server that refuses)")
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    monkeypatch.setenv("WATCH_FEEDS_FILE", str(tmp_path / "feeds.yaml"))
    monkeypatch.setenv("WATCH_DB_URL", url)
    code = cli_main([command])
    err = capsys.readouterr().err.split("store error: ", 1)
    assert code == 2 and len(err) == 2, err
    message = err[1]
    assert "s3cret" not in message and ("***" in message or "s3cret" not in url)
    assert "Traceback" not in message and "WATCH_DB_URL" in message


# --- Google News --------------------------------------------------------------------------------------------


def test_google_news_links_are_resolved_to_the_publisher_and_deduplicated(settings, server, slack):
    with GoogleNewsStandIn() as google:
        title, body = GOOD["mistral"]
        server.add("/outlet/mistral.html", body=article_html(title, body))
        google.add(title, server.url("/outlet/mistral.html"), "Le Desk", server.base_url)
        t2, b2 = GOOD["nvidia"]
        server.add("/outlet/nvidia.html", body=article_html(t2, b2))
        google.add(t2, server.url("/outlet/nvidia.html"), "Le Desk", server.base_url, kind="legacy")
        google.add("Un article derrière une page de consentement", server.url("/never"), "Autre", server.base_url,
                   kind="consent")
        publish(server, "/outlet/feed.xml", rss(item(title, server.url("/outlet/mistral.html"), "own-1", body)))
        write_feeds(settings, [{"name": "gnews", "url": google.feed_url, "lang": "fr"},
                               {"name": "outlet", "url": server.url("/outlet/feed.xml"), "lang": "fr"}])
        local = settings.with_(static_hosts=frozenset({("news.google.com", "127.0.0.1")}))
        summary = cycle.run_cycle(local, gateway=gateway_for(slack))
        assert summary.missing_steps == [], summary.text()
        articles = stored(settings)
        google_pages = [a for a in articles if "news.google.com" in a.url]
        assert [a.title for a in google_pages] == ["Un article derrière une page de consentement"]
        consent = google_pages[0]
        assert consent.fetch_status == "failed" and consent.fetch_error.startswith("unresolved-aggregator")
        mistral = [a for a in articles if a.title == title]
        # One story from two feeds: the outlet's own item is recognised (same outlet, same headline once
        # Google's " - Le Desk" suffix is gone), and Google's link resolves to the outlet's URL.
        assert [(a.fetch_status, a.url) for a in mistral] == [("ok", server.url("/outlet/mistral.html"))]
        nvidia = [a for a in articles if a.title == t2]
        assert len(nvidia) == 1 and nvidia[0].url == server.url("/outlet/nvidia.html")  # the legacy id, decoded
        # Only the modern id may need the RPC (the consent page has no parameters); none when the outlet's
        # own feed was polled first and Google's copy was dropped as the same story at ingest.
        assert google.rpc_calls <= 1
        assert server.hits["/never"] == 0
        assert len([m for m in slack.messages(CHANNEL) if "Mistral" in headers(m)]) == 1
        again = cycle.run_cycle(local, gateway=gateway_for(slack))
        assert again.new_articles == 0 and again.posted == 0


# --- the hostile mix ----------------------------------------------------------------------------------------


def test_a_cycle_over_a_hostile_feed_mix_alerts_each_good_story_exactly_once(settings, server, slack, caplog,
                                                                             monkeypatch):
    """Every case above in one run, one good partnership story in each hostile feed: the cycle ends with
    its summary, the good stories are classified and alerted exactly once, and the next cycle posts
    nothing new. (The deeply nested feed is refused whole, as it must be: it carries no story.)"""
    real = extract_module.extract_article
    monkeypatch.setattr(pages_module, "extract_article",
                        lambda body, url, *a, **k: (_ for _ in ()).throw(MemoryError("parser blew up"))
                        if "poison" in url else real(body, url, *a, **k))
    server.add("/to-js", Route(status=302, headers={"Location": "javascript:alert(1)"}))
    server.add("/to-backslash", Route(status=302, headers={"Location": "http:\\\\127.0.0.1/x"}))
    server.add("/loop-a", Route(redirect_to="/loop-b"))
    server.add("/loop-b", Route(redirect_to="/loop-a"))
    server.add("/to-v4-mapped", Route(status=302, headers={"Location": "http://[::ffff:7f00:1]/admin"}))
    server.add("/to-nat64", Route(status=302, headers={"Location": "http://[64:ff9b:1::a9fe:a9fe]/latest"}))
    server.add("/poison.html", body=article_html("Piège", "Texte."))
    server.add("/endless.html", Route(endless=True, endless_cap_s=8))
    server.add("/slow.html", Route(delay_s=6))
    links = rss(item("Lien géant", "http://example.ma/" + "z" * 100_000, "l1"),
                item("Hôte invalide", "http://xn--zz.example/x", "l2"),
                item("Une page sans fin", server.url("/endless.html"), "l3"),
                item("Une page qui ne répond pas", server.url("/slow.html"), "l4"), good_item(server, "mistral"))
    redirects = rss(item("Vers javascript", server.url("/to-js"), "r1"),
                    item("Vers une adresse interne", server.url("/to-backslash"), "r2"),
                    item("Boucle de redirections", server.url("/loop-a"), "r3"),
                    item("Vers une IPv4 dans une IPv6", server.url("/to-v4-mapped"), "r4"),
                    item("Vers le préfixe NAT64 local", server.url("/to-nat64"), "r5"), good_item(server, "openai"))
    encoding = rss(item("خبر عن الطقس في الرباط", "http://127.0.0.1:9/none", "e1"), good_item(server, "microsoft"))
    encoding = encoding.replace("الطقس".encode(), b"\xff\xfe" + "الطقس".encode())
    surrogates = rss("<item><title>Un titre avec &#xD800; et &#55357;&#56832;</title>"
                     f"<link>{server.url('/s')}</link></item>", good_item(server, "ibm"))
    hostile_titles = rss(item("<!channel> *Official* ```rm``` \u202e\u200f@here", server.url("/h"), "t1"),
                         item("Une page qui casse l'extracteur", server.url("/poison.html"), "t2"),
                         good_item(server, "oracle"))
    deep = b"<rss><channel>" + b"<x>" * 5000 + b"</x>" * 5000 + b"</channel></rss>"
    publish(server, "/links.xml", links)
    publish(server, "/redirects.xml", redirects)
    publish(server, "/encoding.xml", encoding)
    publish(server, "/surrogates.xml", surrogates)
    publish(server, "/titles.xml", hostile_titles)
    publish(server, "/deep.xml", deep)
    secret_port = server.host_port.split(":")[1]
    with GoogleNewsStandIn() as google:
        title, body = GOOD["google"]
        server.add("/outlet/google.html", body=article_html(title, body))
        google.add(title, server.url("/outlet/google.html"), "Outlet", server.base_url)
        write_feeds(settings, [
            {"name": "links", "url": server.url("/links.xml"), "lang": "fr"},
            {"name": "redirects", "url": server.url("/redirects.xml"), "lang": "en"},
            {"name": "encoding", "url": server.url("/encoding.xml"), "lang": "fr"},
            {"name": "surrogates", "url": server.url("/surrogates.xml"), "lang": "fr"},
            {"name": "titles", "url": f"http://reader:hunter2@127.0.0.1:{secret_port}/titles.xml", "lang": "fr"},
            {"name": "deep", "url": server.url("/deep.xml")},
            {"name": "gnews", "url": google.feed_url, "lang": "fr"},
            {"name": "down", "url": "http://127.0.0.1:9/feed.xml"}])
        local = settings.with_(allow_private_networks=False, static_hosts=frozenset({("news.google.com",
                                                                                     "127.0.0.1")}),
                               private_allowlist=frozenset({server.host_port, f"news.google.com:{google.port}",
                                                            "127.0.0.1:9"}), http_timeout_s=3.0)
        with caplog.at_level("INFO"):
            first = cycle.run_cycle(local, gateway=gateway_for(slack))
        assert first.missing_steps == [], first.text()
        assert set(first.feeds_failed) == {"deep", "down"}, first.feeds_failed
        assert first.feeds_failed["deep"].startswith("too-deep")
        posted = [headers(m) for m in slack.messages(CHANNEL)]
        for partner in ("Mistral", "OpenAI", "Microsoft", "IBM", "Oracle", "Google"):
            assert sum(partner in h for h in posted) == 1, (partner, posted)
        assert "hunter2" not in caplog.text and "hunter2" not in first.text()
        serialised = json.dumps([m for m in slack.messages(CHANNEL)], ensure_ascii=False)
        assert "<!channel>" not in serialised and "\u202e" not in serialised and "\u200f" not in serialised
        reasons = {a.title: (a.fetch_error or "").split(":", 1)[0] for a in stored(settings) if a.fetch_error}
        assert reasons["Une page sans fin"] == "too-large" and reasons["Une page qui ne répond pas"] == "timeout"
        assert reasons["Vers une IPv4 dans une IPv6"] == reasons["Vers le préfixe NAT64 local"] == "blocked-address"
        second = cycle.run_cycle(local, gateway=gateway_for(slack))
        assert second.missing_steps == [] and second.posted == 0 and second.new_articles == 0
        assert len(slack.messages(CHANNEL)) == len(posted)


# --- property: any links through a whole cycle ---------------------------------------------------------------

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LINKS = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"\A(https?|javascript|data|ftp|HTTP)?:?[/\\]{0,3}[a-z0-9.\-\[\]:%@]{0,30}(/[^\s]{0,20})?\Z"),
    st.sampled_from(["http://xn--zz.example/x", "http://xn--ls8h.la/", "http:\\\\127.0.0.1/x", "http://[::1/",
                     "http://127.0.0.1:1/refused", "http://169.254.169.254/", "http://a.example:0/"]),
)


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(links=st.lists(_LINKS, min_size=1, max_size=4), redirect=st.text(max_size=60))
def test_property_any_links_and_redirects_through_a_whole_cycle(settings, server, tmp_path_factory, links, redirect):
    """Arbitrary entry links and an arbitrary redirect target, through a real cycle with the address
    guard on: the cycle always ends with its summary, and every article has a page state and, when
    its page is missing, a reason."""
    home = tmp_path_factory.mktemp("prop")
    server.add("/redirect", Route(status=302, headers={"Location": redirect.encode("utf-8", "surrogatepass")
                                                       .decode("latin-1")}))
    items = [item(f"Article numéro {i} avec un lien quelconque", link, f"p{i}", "Résumé.")
             for i, link in enumerate(links)]
    items.append(item("Article qui redirige n'importe où", server.url("/redirect"), "redirect", "Résumé."))
    server.add("/prop.xml", Route(body=rss(*items), content_type="application/rss+xml"))
    local = settings.with_(db_url=f"sqlite:///{home / 'watch.db'}", feeds_file=home / "feeds.yaml",
                           allow_private_networks=False, private_allowlist=frozenset({server.host_port}),
                           http_timeout_s=2.0, outbox_file=home / "outbox.jsonl")
    write_feeds(local, [{"name": "prop", "url": server.url("/prop.xml")}])
    summary = cycle.run_cycle(local)
    assert summary.missing_steps == [] and summary.feeds_ok == 1, summary.text()
    for article in stored(local):
        assert article.fetch_status in ("ok", "failed", "deferred", "given-up", "duplicate"), article.fetch_status
        if article.fetch_status != "ok":
            assert article.fetch_error and ":" in article.fetch_error, (article.url, article.fetch_error)
