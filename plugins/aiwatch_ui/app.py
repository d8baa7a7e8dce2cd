"""The FastAPI app behind the "Morocco AI Watch" entry of the Airflow UI: HTML pages and the JSON API.

Mounted by the api-server under ``/aiwatch`` (see ``plugins/aiwatch_ui_plugin.py``) and shown in the
Airflow UI through an external view (an iframe on the same origin). Every route requires an
authenticated Airflow user through Airflow's own dependency (the ``_token`` cookie the UI sets, or a
bearer token from ``POST /auth/token``): the API answers 401 without one, the pages redirect to
Airflow's login. The API is read-only except its POST routes (re-queue a message, label a story,
pause or poll a feed), which take a JSON body and a custom header, so a cross-site form or image cannot
trigger them (CSRF). Pages are rendered with
autoescaping templates: a title from a feed is always text, never markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
from aiwatch.airflow_api import Credentials
from aiwatch.config import Settings
from aiwatch.store import upgrade
from aiwatch.store.engine import Store
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, Field

from aiwatch_ui import queries
from aiwatch_ui.airflow_meta import (
    RETRAIN_DAG,
    WATCH_DAG,
    AirflowMeta,
    DagRunInfo,
    MetadataDB,
    dag_run_path,
    task_instance_path,
)

log = logging.getLogger(__name__)

MOUNT = "/aiwatch"
CSRF_HEADER = "X-AIWatch-Request"
HERE = Path(__file__).resolve().parent
_TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                         lstrip_blocks=True)


# --- responses (dataclasses: FastAPI documents them in the OpenAPI schema) ----------------------


@dataclass(frozen=True)
class FeedOut(queries.FeedRow):
    log_url: str | None = None  # the latest failed poll_feed task instance in the Airflow UI (its log)


@dataclass(frozen=True)
class FeedsOut:
    items: list[FeedOut]
    total: int
    sort: str
    descending: bool
    limit: int
    offset: int
    counts: dict[str, int]


@dataclass(frozen=True)
class ModelOut:
    model: queries.ModelView
    retrain_last_run: DagRunInfo | None
    retrain_run_url: str | None
    plot_urls: dict[str, list[str]] = field(default_factory=dict)  # version -> URLs of its PNGs


class LabelIn(BaseModel):
    article_id: int = Field(ge=1, description="the stored article labelled")
    label: int = Field(ge=0, le=1, description="1 relevant (a new Moroccan AI partnership), 0 not relevant")
    category: str | None = Field(default=None, max_length=64, description="LABELLING.md category, optional")


@dataclass(frozen=True)
class RetrainingOut:
    updated: bool  # whether the labels Asset was updated (so retrain_classifier runs)
    message: str


@dataclass(frozen=True)
class LabelOut:
    result: queries.LabelResult
    retraining: RetrainingOut


class PauseIn(BaseModel):
    paused: bool = Field(description="true pauses the feed (prepare leaves it out), false resumes it")


@dataclass(frozen=True)
class FeedActionOut:
    feed: str
    done: bool
    message: str
    run_id: str | None = None


class RequeueIn(BaseModel):
    key: str = Field(min_length=1, max_length=255, description="the outbox key of a failed message")


@dataclass(frozen=True)
class Deps:
    """What the app reads, injectable for tests: settings (store URL, registry) and Airflow's metadata."""

    settings: Callable[[], Settings] = Settings.from_env
    airflow: AirflowMeta = field(default_factory=MetadataDB)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


# --- auth --------------------------------------------------------------------------------------


class LoginRequired(Exception):
    pass


#: Airflow's own authentication (bearer token or the UI's cookie), answering 401/403 as Airflow does.
api_user = get_user


async def page_user(request: Request) -> Any:
    """The same check for a page, sending a browser without a valid session to Airflow's login."""
    try:
        return await get_user(request, None, await bearer_scheme(request))
    except HTTPException as exc:
        if exc.status_code in (401, 403):
            raise LoginRequired() from None
        raise


def _airflow_root(request: Request) -> str:
    """Airflow's base path (``/`` or ``[api] base_url``'s path): our root path less our mount point."""
    root = request.scope.get("root_path", "")
    return (root[:-len(MOUNT)] if root.endswith(MOUNT) else root).rstrip("/") + "/"


def _session_token(request: Request) -> str | None:
    """The caller's Airflow token (bearer header, else the UI's cookie): the view acts on Airflow's
    API as the logged-in user, with that user's rights."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def _api_base(request: Request) -> str:
    """The api-server this request reached (its origin and Airflow's base path): our own Airflow."""
    return f"{request.url.scheme}://{request.url.netloc}{_airflow_root(request)}".rstrip("/")


def _as_user(settings: Settings, request: Request) -> tuple[str, Credentials]:
    """Where and how the view calls Airflow's REST API for the logged-in user: ``WATCH_AIRFLOW_API_URL``
    or the api-server the request reached, with the user's own session (so their rights apply)."""
    return (settings.airflow_api_url or _api_base(request),
            Credentials(token=_session_token(request), source="the user's session"))


def _who(user: Any) -> str:
    """The logged-in Airflow user as labels and logs name them."""
    return str(user.get_name() or user.get_id())


def _login_redirect(request: Request) -> RedirectResponse:
    from airflow.api_fastapi.app import get_auth_manager

    url = request.url
    next_url = url.path + (f"?{url.query}" if url.query else "")
    login = get_auth_manager().get_url_login(next_url=next_url)
    if not urlsplit(login).scheme:
        login = _airflow_root(request) + login.lstrip("/")
    return RedirectResponse(login, status_code=303)


# --- app ---------------------------------------------------------------------------------------


def create_app(deps: Deps | None = None) -> FastAPI:
    deps = deps or Deps()
    app = FastAPI(title="Morocco AI Watch", version="1",
                  description="The operator's view of the monitor: feed health, partnership events and their "
                              "Slack alerts, stories to label, model versions. Read-only except re-queueing a failed "
                              "alert, labelling a story and pausing or polling a feed. "
                              "Authenticate as for Airflow's API (bearer token from POST /auth/token, or the "
                              "UI's session cookie).")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        return _login_redirect(request)

    @app.exception_handler(queries.QueryError)
    async def _bad_query(_request: Request, exc: queries.QueryError) -> Response:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": str(exc)}, status_code=422)

    def store() -> Store:
        return _migrated(deps.settings().db_url)

    def guarded(content_type: str | None, marker: str | None, what: str) -> None:
        """Writes need a JSON body and our custom header: a cross-site form or image can send neither."""
        if not (content_type or "").startswith("application/json") or not marker:
            raise HTTPException(403, f"{what} needs a JSON body and the {CSRF_HEADER} header")

    # -- data, shared by the API and the pages ------------------------------------------------

    def feeds_data(request: Request, sort: str, desc: bool, limit: int, offset: int) -> FeedsOut:
        page = queries.feeds(store(), deps.now(), sort=sort, descending=desc, limit=limit, offset=offset,
                             schedule=deps.settings().schedule)
        runs = sorted({r.failed_run_id for r in page.items if r.failed_run_id})
        indexes = deps.airflow.poll_map_indexes(runs)
        root = _airflow_root(request)
        items = []
        for row in page.items:
            index = indexes.get((row.failed_run_id, row.name)) if row.failed_run_id else None
            url = root + task_instance_path(row.failed_run_id, index) if index is not None else None
            items.append(FeedOut(**{f.name: getattr(row, f.name) for f in fields(row)}, log_url=url))
        return FeedsOut(items=items, total=page.total, sort=page.sort, descending=page.descending,
                        limit=page.limit, offset=page.offset, counts=page.counts)

    def model_data(request: Request) -> ModelOut:
        settings = deps.settings()
        view = queries.model_view(settings.models, store())
        run = deps.airflow.last_run(RETRAIN_DAG)
        base = str(request.url_for("plot", version="VERSION", name="NAME"))
        plot_urls = {v.name: [base.replace("VERSION", v.name).replace("NAME", quote(p)) for p in v.plots]
                     for v in view.versions}
        run_url = _airflow_root(request) + dag_run_path(run.dag_id, run.run_id) if run else None
        return ModelOut(model=view, retrain_last_run=run, retrain_run_url=run_url, plot_urls=plot_urls)

    # -- JSON API -----------------------------------------------------------------------------

    @app.get("/api/feeds", response_model=FeedsOut, tags=["feeds"], summary="Feed health")
    def api_feeds(request: Request, _user: Annotated[Any, Depends(api_user)],
                  sort: Annotated[str, Query(description=f"one of {', '.join(queries.FEED_SORTS)}")] = "status",
                  desc: bool = False, limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 50,
                  offset: Annotated[int, Query(ge=0)] = 0) -> FeedsOut:
        """Every feed: ok / failing / stale, last success, last error, failures in a row, entries seen,
        share of pages extracted, and for a failing feed the URL of its latest poll_feed task log."""
        return feeds_data(request, sort, desc, limit, offset)

    @app.post("/api/feeds/{name}/pause", response_model=FeedActionOut, tags=["feeds"],
              summary="Pause or resume a feed")
    def api_pause(name: str, body: PauseIn, user: Annotated[Any, Depends(api_user)],
                  content_type: Annotated[str | None, Header()] = None,
                  x_aiwatch_request: Annotated[str | None, Header(alias=CSRF_HEADER)] = None) -> FeedActionOut:
        """A paused feed stays in the feed list (and this view) but ``prepare`` leaves it out of every
        cycle until it is resumed. Needs a JSON body and the ``X-AIWatch-Request: 1`` header."""
        from aiwatch.store import repo

        guarded(content_type, x_aiwatch_request, "pausing a feed")
        who = _who(user)
        if not repo.set_paused(store(), name, body.paused, who, deps.now()):
            raise HTTPException(404, f"no feed named {name!r} in the store")
        log.info("feed=%s %s by %s in the operator's view", name, "paused" if body.paused else "resumed", who)
        return FeedActionOut(name, True, f"{name} paused by {who}: not polled until resumed" if body.paused
                             else f"{name} resumed by {who}: polled from the next run on")

    @app.post("/api/feeds/{name}/poll", response_model=FeedActionOut, tags=["feeds"], summary="Poll a feed now")
    def api_poll(request: Request, name: str, user: Annotated[Any, Depends(api_user)],
                 content_type: Annotated[str | None, Header()] = None,
                 x_aiwatch_request: Annotated[str | None, Header(alias=CSRF_HEADER)] = None) -> FeedActionOut:
        """The feed's next poll ignores its back-off, and a run of the DAG is queued now through
        Airflow's REST API with the user's session (so the user's rights apply). Needs a JSON body
        (``{}``) and the ``X-AIWatch-Request: 1`` header."""
        from aiwatch.airflow_api import AirflowAPI, ApiError
        from aiwatch.store import repo

        guarded(content_type, x_aiwatch_request, "polling a feed")
        who = _who(user)
        if not repo.request_poll(store(), name, deps.now()):
            raise HTTPException(404, f"no feed named {name!r} in the store")
        api = AirflowAPI(*_as_user(deps.settings(), request))
        try:
            run_id, paused = api.trigger_dag(WATCH_DAG, note=f"poll now: feed {name}, asked by {who}")
        except ApiError as exc:
            return FeedActionOut(name, False, f"{name}'s back-off is lifted for its next poll, but no run was "
                                              f"queued: {exc}")
        finally:
            api.close()
        log.info("feed=%s poll now by %s: run %s queued", name, who, run_id)
        waits = "; the DAG is paused in Airflow, so the run waits until it is unpaused" if paused else ""
        return FeedActionOut(name, True, f"run {run_id} queued: it polls {name} now, back-off or not{waits}", run_id)

    @app.get("/api/events", response_model=queries.EventPage, tags=["events"], summary="Partnership events")
    def api_events(_user: Annotated[Any, Depends(api_user)],
                   limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = 20,
                   offset: Annotated[int, Query(ge=0)] = 0,
                   state: Annotated[str | None, Query(description=f"the alert's state: one of "
                                                                  f"{', '.join(queries.EVENT_STATES)}")] = None,
                   since: Annotated[str | None, Query(description="covered on or after this day (YYYY-MM-DD)")] = None,
                   until: Annotated[str | None, Query(description="covered on or before this day (YYYY-MM-DD)")] = None,
                   ) -> queries.EventPage:
        """Recent events, newest coverage first, with their articles (score, the classifier's explanation,
        why they were grouped), and every Slack message of the event as Slack shows it (blocks), with its
        channel, state and the DAG runs that composed and delivered it."""
        return queries.events(store(), limit=limit, offset=offset, state=state or None, since=since, until=until)

    @app.post("/api/outbox/requeue", response_model=queries.RequeueResult, tags=["events"],
              summary="Re-queue a failed Slack message")
    def api_requeue(body: RequeueIn, _user: Annotated[Any, Depends(api_user)],
                    content_type: Annotated[str | None, Header()] = None,
                    x_aiwatch_request: Annotated[str | None, Header(alias=CSRF_HEADER)] = None
                    ) -> queries.RequeueResult:
        """Put a failed message back to pending; the next send_alerts delivers it. Needs a JSON body and
        the ``X-AIWatch-Request: 1`` header (cross-site forms can send neither). 409 if it was not failed."""
        guarded(content_type, x_aiwatch_request, "re-queue")
        result = queries.requeue(store(), body.key)
        if result.state is None:
            raise HTTPException(404, f"no outbox message with key {body.key!r}")
        if not result.requeued:
            raise HTTPException(409, f"outbox message {body.key!r} is {result.state}, not failed: nothing to re-queue")
        return result

    @app.get("/api/review", response_model=queries.ReviewPage, tags=["review"], summary="Stories to label")
    def api_review(_user: Annotated[Any, Depends(api_user)],
                   limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.REVIEW_SIZE
                   ) -> queries.ReviewPage:
        """The unlabelled stories nearest the live model's threshold and the recently alerted ones, with
        their text, score, the classifier's explanation and the labels already given."""
        return queries.review(store(), deps.settings().models, limit=limit)

    @app.post("/api/labels", response_model=LabelOut, tags=["review"], summary="Label a story")
    def api_label(request: Request, body: LabelIn, user: Annotated[Any, Depends(api_user)],
                  content_type: Annotated[str | None, Header()] = None,
                  x_aiwatch_request: Annotated[str | None, Header(alias=CSRF_HEADER)] = None) -> LabelOut:
        """Record the logged-in user's label (source ``ui``), then, once ``WATCH_RETRAIN_MIN_LABELS`` labels
        have gathered since the newest model, update the labels Asset through Airflow's own REST API with
        the user's session, so ``retrain_classifier`` runs. Needs a JSON body and the
        ``X-AIWatch-Request: 1`` header (CSRF). The answer says whether the Asset moved, or why not."""
        from aiwatch import feedback

        guarded(content_type, x_aiwatch_request, "labelling")
        who = _who(user)
        try:
            result = queries.record_label(store(), body.article_id, body.label, who, body.category)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        if result.outcome == "unchanged":
            return LabelOut(result, RetrainingOut(False, "the same label as before: nothing new to retrain on"))
        settings = deps.settings()
        api_url, credentials = _as_user(settings, request)
        signal = feedback.request_retraining(
            settings, {"source": queries.UI_LABEL_SOURCE, "who": who, "article_id": body.article_id},
            credentials=credentials, api_url=api_url)
        return LabelOut(result, RetrainingOut(signal.updated, signal.message))

    @app.get("/api/model", response_model=ModelOut, tags=["model"], summary="Model registry")
    def api_model(request: Request, _user: Annotated[Any, Depends(api_user)]) -> ModelOut:
        """Registry versions (newest first), the live one, metrics, plots, labels gathered since the newest
        training, and the latest retrain_classifier run."""
        return model_data(request)

    @app.get("/api/model/versions/{version}/plots/{name}", name="plot", tags=["model"],
             response_class=FileResponse, summary="A PR curve or confusion matrix PNG")
    def api_plot(version: str, name: str, _user: Annotated[Any, Depends(api_user)]) -> FileResponse:
        try:
            path = queries.plot_path(deps.settings().models, version, name)
        except (queries.QueryError, FileNotFoundError) as exc:
            raise HTTPException(404, str(exc)) from None
        return FileResponse(path, media_type="image/png")

    # -- pages --------------------------------------------------------------------------------

    def render(name: str, request: Request, **context: Any) -> HTMLResponse:
        settings = deps.settings()
        html = _TEMPLATES.get_template(name).render(request=request, page=name.split(".")[0],
                                                    csrf_header=CSRF_HEADER, fmt=_fmt, pct=_pct, when=_when,
                                                    where=_data_lives(settings), **context)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    def index(_user: Annotated[Any, Depends(page_user)]) -> RedirectResponse:
        return RedirectResponse("feeds", status_code=303)

    @app.get("/feeds", include_in_schema=False)
    def page_feeds(request: Request, _user: Annotated[Any, Depends(page_user)], sort: str = "status",
                   desc: bool = False, page: Annotated[int, Query(ge=1)] = 1) -> HTMLResponse:
        size = 50
        data = feeds_data(request, sort, desc, size, (page - 1) * size)
        return render("feeds.html", request, data=data, number=page, size=size)

    @app.get("/events", include_in_schema=False)
    def page_events(request: Request, _user: Annotated[Any, Depends(page_user)],
                    page: Annotated[int, Query(ge=1)] = 1, state: str | None = None, since: str | None = None,
                    until: str | None = None) -> HTMLResponse:
        size = 20
        data = queries.events(store(), limit=size, offset=(page - 1) * size, state=state or None, since=since,
                              until=until)
        root = _airflow_root(request)
        runs = {run_id: root + dag_run_path(WATCH_DAG, run_id)
                for event in data.items for m in event.messages
                for run_id in (m.composed_run_id, m.delivery_run_id) if run_id}
        from aiwatch.kinds import KIND_LABELS

        return render("events.html", request, data=data, number=page, size=size, run_urls=runs, kinds=KIND_LABELS,
                      state_words=queries.STATE_WORDS, kind_words=queries.KIND_WORDS, states=queries.EVENT_STATES)

    @app.get("/review", include_in_schema=False)
    def page_review(request: Request, _user: Annotated[Any, Depends(page_user)]) -> HTMLResponse:
        settings = deps.settings()
        data = queries.review(store(), settings.models)
        return render("review.html", request, data=data, min_labels=settings.retrain_min_labels)

    @app.get("/model", include_in_schema=False)
    def page_model(request: Request, _user: Annotated[Any, Depends(page_user)]) -> HTMLResponse:
        return render("model.html", request, data=model_data(request))

    return app


@dataclass(frozen=True)
class DataLocation:
    """Where the view's data lives, shown in every page's footer (a newcomer's first question)."""

    store: str
    feeds_file: str
    #: The demo's own store when it exists and is not the one shown: `make up DEMO=1` shows it.
    demo_store: str | None


def _data_lives(settings: Settings) -> DataLocation:
    from aiwatch.urls import redact

    demo = settings.home / "var" / "demo" / "watch.db"
    shown = settings.db_url.removeprefix("sqlite:///")
    other = demo.exists() and Path(shown).resolve() != demo.resolve() if settings.db_url.startswith("sqlite:///") \
        else demo.exists()
    return DataLocation(store=redact(settings.db_url), feeds_file=str(settings.feeds_file),
                        demo_store=str(demo) if other else None)


@lru_cache(maxsize=8)
def _migrated(url: str) -> Store:
    """The store, brought to the current schema once per process: before the first cycle the view shows an
    empty store instead of failing (the pipeline's ``prepare`` step runs the same idempotent upgrade)."""
    store = Store(url)
    upgrade(store)
    return store


def _fmt(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _when(value: str | datetime | None) -> str:
    """An ISO time from a file (a version's created_at) as the pages write times; the raw text when
    it is not one."""
    if isinstance(value, datetime):
        return _fmt(value)
    if not value:
        return "–"
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return _fmt(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _pct(value: float | None) -> str:
    return f"{value * 100:.0f}%" if value is not None else "–"
