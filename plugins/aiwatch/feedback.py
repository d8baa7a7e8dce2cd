"""Readers' reactions become labels: ✅ on an alert, a thread reply or a digest line says the story
was a new Moroccan AI partnership, ❌ says it was not. Each such message is about one article, so a
reaction labels that article, recorded per person (a changed mind updates the label).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiwatch.config import Settings
from aiwatch.slack.blocks import REACTION_NOT_RELEVANT, REACTION_RELEVANT
from aiwatch.slack.gateway import SlackGateway, SlackMethodUnsupported, SlackRejected, SlackUnavailable
from aiwatch.store import Store, outbox, upgrade
from aiwatch.store.labels import add_label, label_count_since

if TYPE_CHECKING:
    from aiwatch.airflow_api import AssetSignal, Credentials

log = logging.getLogger(__name__)

#: Reaction names Slack may report for the two votes (skin tones and aliases included).
_VOTES = {REACTION_RELEVANT: 1, "heavy_check_mark": 1, REACTION_NOT_RELEVANT: 0, "negative_squared_cross_mark": 0}


def votes(reactions: list[tuple[str, tuple[str, ...]]]) -> dict[str, int]:
    """Each person's vote from a message's reactions; someone who chose both has said nothing clear."""
    seen: dict[str, set[int]] = {}
    for name, users in reactions:
        vote = _VOTES.get(name.split("::", 1)[0])
        if vote is None:
            continue
        for user in users:
            seen.setdefault(user, set()).add(vote)
    return {user: next(iter(choice)) for user, choice in seen.items() if len(choice) == 1}


def collect(settings: Settings, gateway: SlackGateway | None, *, now: datetime | None = None) -> dict[str, Any]:
    """Read reactions on recent posted messages and record them as labels (source ``slack``)."""
    now = now or datetime.now(UTC)
    store = Store(settings.db_url)
    upgrade(store)
    counts: Counter[str] = Counter()
    if gateway is None:
        log.warning("no Slack connection %r: no reactions to read (dry-run mode)", settings.slack_conn_id)
        return {"mode": "dry-run", "messages": 0, "labels": 0, "new_or_changed": 0}
    targets = outbox.feedback_targets(store, now - timedelta(days=settings.feedback_days))
    checked: list[int] = []
    for row in targets:
        assert row.slack_channel and row.slack_ts and row.article_id is not None
        try:
            reactions = gateway.reactions(row.slack_channel, row.slack_ts)
        except SlackMethodUnsupported as exc:
            log.warning("this Slack does not offer reactions.get (%s): no feedback to read", exc)
            counts["unsupported"] += 1
            break
        except SlackRejected as exc:  # message deleted, say: nothing to learn from it
            log.warning("reactions of outbox %s unreadable: %s", row.key, exc)
            counts["unreadable"] += 1
            continue
        except SlackUnavailable as exc:
            log.warning("Slack unavailable while reading reactions (%s); the next run goes on", exc)
            counts["unavailable"] += 1
            break
        checked.append(row.id)
        for user, label in votes(reactions).items():
            outcome = add_label(store, row.article_id, label, "slack", who=user, at=now,
                                note=f"reaction on {row.key}")
            counts["votes"] += 1
            counts["new_or_changed"] += outcome != "unchanged"
            counts["relevant" if label else "not_relevant"] += 1
    outbox.mark_feedback_checked(store, checked, now)
    stats = {"mode": "slack", "messages": len(checked), "new_or_changed": 0, **counts}
    log.info("feedback: read reactions on %d messages: %d votes (%d relevant, %d not relevant), %d new or changed",
             len(checked), counts["votes"], counts["relevant"], counts["not_relevant"], counts["new_or_changed"])
    return stats


def labels_since_training(settings: Settings) -> tuple[int, str | None]:
    """How many human labels were recorded after the newest model version was trained, and its name.

    The newest version, promoted or not: a retraining that did not beat the live model has still
    used those labels, so they must not trigger another retraining every hour.
    """
    from classifiers.registry import versions

    trained = [v for v in versions(settings.models) if v.meta.get("created_at")]
    newest = max(trained, key=lambda v: v.meta["created_at"]) if trained else None
    since = datetime.fromisoformat(newest.meta["created_at"]) if newest else None
    return label_count_since(Store(settings.db_url), since), newest.name if newest else None


def request_retraining(settings: Settings, extra: dict[str, Any], credentials: Credentials | None = None,
                       api_url: str | None = None) -> AssetSignal:
    """Ask Airflow's API to update the labels Asset for labels recorded outside a task (a file
    import, the operator's view), when enough have gathered; an :class:`~aiwatch.airflow_api.AssetSignal`
    says what happened. ``credentials`` default to :func:`~aiwatch.airflow_api.credentials_from_env`."""
    from aiwatch.airflow_api import DEFAULT_API_URL, AirflowAPI, credentials_from_env, signal_labels

    new, newest = labels_since_training(settings)
    credentials = credentials or credentials_from_env()
    api = AirflowAPI(api_url or settings.airflow_api_url or DEFAULT_API_URL, credentials) if credentials.usable else None
    try:
        return signal_labels(api, new, newest, settings.retrain_min_labels, extra)
    finally:
        if api is not None:
            api.close()
