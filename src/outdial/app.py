"""create_app(settings): the ASGI application; its lifespan owns the store and the workers."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, closing

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from outdial import __version__
from outdial.api import errors
from outdial.api import flows as flow_routes
from outdial.api.body import BodyLimit
from outdial.api.ratelimit import RateLimiter
from outdial.api.routes import Services, router
from outdial.api.throttle import SignInThrottle
from outdial.config import Settings
from outdial.dispatch.dialer import Dialer, DialerSettings
from outdial.dispatch.workers import Workers
from outdial.ingest.pipeline import Ingestor, warm_up
from outdial.metrics import registry_for
from outdial.outbound.policy import UrlPolicy
from outdial.processes import exit_with_parent
from outdial.queueing import QueueService
from outdial.secretbox import SecretBox
from outdial.store.store import Store
from outdial.web import pages as web_pages
from outdial.web import routes as web_routes
from outdial.web import upload as web_upload
from outdial.web.session import SessionCodec

log = logging.getLogger(__name__)

DESCRIPTION = """\
Queue outbound calls, read their outcomes, cancel them. Compatible with Plum
Fuse's outbound API: HTTP Basic auth with your account e-mail and developer key.
"""


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The outdial ASGI app. ``store`` may be given (tests); otherwise it is opened here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:  # on the way out: workers, executor, store
            own_store = store
            if own_store is None:
                box = (
                    SecretBox.from_file(settings.secret_key_file)
                    if settings.secret_key_file is not None
                    else None
                )
                own_store = stack.enter_context(closing(Store.open(settings.database_url, box=box)))
            executor = None
            if settings.ingest_workers > 0:
                # spawn, not fork: the server has threads, and forking them is unsafe.
                # Each ends by itself when this process dies, even by SIGKILL.
                executor = ProcessPoolExecutor(
                    settings.ingest_workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=exit_with_parent,
                    initargs=(os.getpid(),),
                )
                stack.callback(executor.shutdown, wait=True, cancel_futures=True)
                for _ in range(settings.ingest_workers):
                    executor.submit(warm_up)
            url_policy = UrlPolicy(settings.allow_url_networks)
            ingestor = Ingestor(settings.default_region, executor, settings.max_bulk_rows)
            dialer: Dialer | None = None
            if settings.dialer:
                workers = Workers(
                    own_store,
                    DialerSettings(
                        lease=settings.lease,
                        dial_log=settings.dial_log,
                        tts_cache=settings.tts_cache,
                        url_policy=url_policy,
                    ),
                )
                dialer = (await stack.enter_async_context(workers)).dialer
            loop = asyncio.get_running_loop()

            def wake() -> None:  # called from request threads after calls are queued
                if dialer is not None:
                    loop.call_soon_threadsafe(dialer.wake)

            app.state.services = Services(
                settings=settings,
                store=own_store,
                queue=QueueService(own_store, ingestor, settings.default_region, wake, url_policy),
                limiter=RateLimiter(settings.queue_rate, settings.queue_burst),
                metrics=registry_for(own_store, dialer),
            )
            log.info("outdial ready", extra={"database": own_store.engine.url.render_as_string()})
            yield

    app = FastAPI(
        title="outdial",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,  # '/queue/' is a 404 that says so, not a bare 307
    )
    errors.install(app)
    app.include_router(router)
    app.include_router(flow_routes.router)
    if settings.session_secret is None:
        log.warning("no session secret set: web UI sign-ins end when this process stops")
    app.state.session_codec = SessionCodec(settings.session_secret or secrets.token_hex(32))
    app.state.sign_in_throttle = SignInThrottle()  # web sign-ins and API keys alike
    web_pages.install(app)
    app.include_router(web_routes.router)
    app.include_router(web_upload.router)
    app.mount(
        web_pages.UI + "/static",
        StaticFiles(directory=web_pages.WEB_DIR / "static"),
        name="static",
    )
    app.add_middleware(
        BodyLimit,
        limit=settings.max_request_bytes,
        large_limit=settings.max_upload_bytes,
        large_suffixes=("/bulk_queue", "/upload", "/upload/preview"),
    )
    return app
