"""``ketqua serve``: the signer and the verifier in one process (or one of them).

Resources are made here, once, and passed to the applications: the
registry's database (migrated at start), the blob store, the process pools,
the pipeline's workers. Each is entered into the start-up's exit stacks as
it is made (``ketqua.lifecycle``), so a failure half-way through start-up
releases what was started. SIGTERM (or Ctrl-C) stops accepting requests,
lets running jobs finish for a while, gives the rest back to the queue, and
exits within ``shutdown_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import Counter

from ketqua import logs
from ketqua.lifecycle import Deadline, Drain, Stopping
from ketqua.settings import Listen, Settings
from plumbing.errors import InputError
from plumbing.web.metrics import Metrics
from registry.blobs import BlobStore
from registry.database import Database, open_database, upgrade, wait_for_schema
from signer.delivery.worker import Deliverer

if TYPE_CHECKING:
    from keys.keydir import KeyDir
    from plumbing.workers import WorkerPool
    from signer.api.context import SignerContext
    from signer.delivery.message import MailSetup

log = logging.getLogger("ketqua.serve")

# of shutdown_timeout, for requests and jobs to finish; the rest is for the clean-up after
SHUTDOWN_SHARE = 0.8


class Role(StrEnum):
    BOTH = "both"
    SIGNER = "signer"
    VERIFIER = "verifier"


def run(settings: Settings, role: Role) -> int:
    logs.configure(settings.log_format, settings.log_level)
    asyncio.run(serve(settings, role))  # a KetquaError reaches the CLI: one line, exit 2/1
    return 0


async def serve(
    settings: Settings,
    role: Role,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Start the services of ``role``, wait for SIGTERM/SIGINT (or ``stop``), stop them."""
    stop = stop or asyncio.Event()
    deadline = Deadline(settings.shutdown_timeout * SHUTDOWN_SHARE)
    stopping = Stopping()
    async with contextlib.AsyncExitStack() as stack:
        _stop_on_signals(stack, stop)
        settings.home.mkdir(parents=True, exist_ok=True)
        db = open_database(settings.database)
        stack.push_async_callback(stopping.step, "the database", db.close)
        blobs = settings.blobs.open()
        stack.push_async_callback(
            stopping.step, "the blob store", functools.partial(asyncio.to_thread, blobs.close)
        )
        if role is Role.VERIFIER:  # reads only: the signer (or ketqua migrate) migrates
            await wait_for_schema(db, settings.schema_wait)
        else:
            await upgrade(db)
        # after the drain: what requests and jobs used (the audit trail, the process pools)
        used = await stack.enter_async_context(contextlib.AsyncExitStack())
        # first, side by side: requests in flight and running jobs
        drain = await stack.enter_async_context(Drain(deadline, stopping))
        metrics = Metrics()
        if role in (Role.BOTH, Role.SIGNER):
            await _start_signer(settings, db, blobs, metrics, drain, used, deadline, stopping)
        if role in (Role.BOTH, Role.VERIFIER):
            app = _verifier_app(settings, db, blobs, metrics, alone=role is Role.VERIFIER)
            await _start_site(app, settings.verifier_address, "verifier", settings, drain)
        # what start-up made (modules, engines, apps) lives as long as the process: out of
        # the cyclic collector's sight, so that full collections stay short (request latency)
        gc.freeze()
        log.info("ready (role %s, home %s)", role.value, settings.home.absolute())
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: no new requests; exit within %.0f s", settings.shutdown_timeout)
    stopping.check()
    log.info("stopped")


def _stop_on_signals(stack: contextlib.AsyncExitStack, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
        stack.callback(loop.remove_signal_handler, sig)


async def _start_signer(
    settings: Settings,
    db: Database,
    blobs: BlobStore,
    metrics: Metrics,
    drain: Drain,
    used: contextlib.AsyncExitStack,
    deadline: Deadline,
    stopping: Stopping,
) -> None:
    from console.pages import error_page as console_error_page
    from ketqua.signing import runtime_config
    from keys.keydir import KeyDir
    from registry.audit import AuditTrail
    from signer.api.app import create_app
    from signer.api.context import SignerContext
    from signer.api.health import (
        EXPIRY_WARNING_DAYS,
        register_certificate_metrics,
        register_signer_metrics,
    )
    from signer.pipeline.pool import (
        Failure,
        KeysFacts,
        describe_in_worker,
        intake_pool,
        noop_in_worker,
        signing_pool,
    )
    from signer.pipeline.staging import Staging
    from signer.pipeline.worker import Pipeline, PipelineConfig

    config = runtime_config(settings)  # a bad setting stops the start before anything is made
    keydir = KeyDir(settings.keys_dir)
    if settings.pkcs11_module is None and not keydir.seal_p12.exists():
        from keys.devpki import init_keydir

        await asyncio.to_thread(init_keydir, keydir.root)
        log.warning(
            "no keys in %s: created a DEVELOPMENT PKI there (not for production; "
            "see README, Keys)",
            keydir.root,
        )
    mail = _mail_setup(settings)
    signing = signing_pool(
        settings.workers, config, blobs=settings.blobs, staging_root=settings.staging_dir
    )
    used.push_async_callback(
        stopping.step, "the signing processes", lambda: signing.close(deadline.left())
    )
    intake = intake_pool(settings.intake_workers, blobs=settings.blobs, mail=mail)
    used.push_async_callback(
        stopping.step, "the intake processes", lambda: intake.close(deadline.left())
    )
    # both pools' processes start side by side (each start imports the libraries anew)
    intake_started = asyncio.ensure_future(intake.start(noop_in_worker))
    try:
        described = await signing.start(describe_in_worker)
    finally:
        await intake_started
    failure = next((d for d in described if isinstance(d, Failure)), None)
    facts = next((d for d in described if isinstance(d, KeysFacts)), None)
    if failure is not None or facts is None:
        raise InputError(f"the signing keys are not usable: {failure}")
    agency_code = facts.agency_code
    if not facts.listed:
        log.warning(
            "the signing certificate is not in the trust list %s: offline verifiers will call "
            "no document valid; add it with: ketqua keys trust-signer --cert SIGNING.pem",
            keydir.trust_list,
        )
    histogram, attempts = register_signer_metrics(metrics, db)
    register_certificate_metrics(metrics, facts.certificates)
    for cert in facts.certificates:
        left = (cert.not_after - datetime.now(UTC)).days
        if left < EXPIRY_WARNING_DAYS:
            log.warning("the %s certificate runs out in %d day(s): renew it", cert.use, left)
    deliverer, mail_domain = _deliverer(settings, db, intake, mail, attempts, agency_code)
    pipeline = Pipeline(
        db,
        blobs,
        Staging(settings.staging_dir),
        signing,
        PipelineConfig(
            lease=settings.job_lease,
            max_attempts=settings.job_max_attempts,
            retry_base=settings.job_retry_base,
            retry_max=settings.job_retry_max,
        ),
        agency=agency_code,
        on_signed=histogram.observe,
        follow_up=deliverer,
    )
    audit = AuditTrail(db)
    await audit.start()
    # after the requests that record into it, before the database closes
    used.push_async_callback(stopping.step, "the audit trail", audit.stop)
    ctx = SignerContext(
        db=db,
        blobs=blobs,
        intake_pool=intake,
        pipeline=pipeline,
        deliverer=deliverer,
        mail_domain=mail_domain,
        audit=audit,
        agency_code=agency_code,
        max_document_bytes=settings.max_document_bytes,
        certificates=facts.certificates,
    )
    app = create_app(
        ctx, metrics, extend=_console(settings, ctx, keydir), error_page=console_error_page
    )
    await _start_site(app, settings.signer_address, "signer API", settings, drain)
    log.info("the back office's console is on the signer API's port, at /")
    # one more task than processes: the next job is ready when a process frees up
    await pipeline.start(concurrency=settings.workers + 1)
    drain.add("the signing pipeline", lambda: pipeline.stop(deadline.left()))
    # twice the connections: a task building the next message while one waits for a reply
    await deliverer.start(concurrency=settings.smtp_connections * 2)
    drain.add("the e-mail deliverer", lambda: deliverer.stop(deadline.left()))
    log.info("signing for agency %s with %d worker process(es)", agency_code, settings.workers)


def _console(
    settings: Settings, signer: SignerContext, keydir: KeyDir
) -> Callable[[web.Application], None]:
    """What adds the back office's console to the signer's application."""
    from console.app import install, templates
    from console.context import ConsoleContext
    from console.throttle import LoginThrottle
    from plumbing.web.security import ClientAddress

    ctx = ConsoleContext(
        signer=signer,
        templates=templates(),
        throttle=LoginThrottle(),
        clients=ClientAddress(settings.trusted_proxies),
        public_url=settings.public_url,
        trust_list=keydir.trust_list,
        access_secret=keydir.load_access_key(),
        agency_name=settings.contact_agency,
        idle=timedelta(minutes=settings.console_idle_minutes),
        absolute=timedelta(hours=settings.console_session_hours),
    )
    return functools.partial(install, ctx=ctx)


def _mail_setup(settings: Settings) -> MailSetup:
    """The e-mails' sender and templates; the templates are compiled here first, so that
    one that does not parse stops the start naming itself."""
    from signer.delivery.message import Contact, DkimKey, MailSetup, Sender

    sender = Sender(
        address=settings.sender_address,
        name=settings.mail_from_name,
        reply_to=settings.mail_reply_to,
        max_bytes=int(settings.mail_max_mb * 1024 * 1024),
        public_url=settings.public_url,
        contact=Contact(
            agency=settings.contact_agency,
            phone=settings.contact_phone,
            email=settings.contact_email,
            address=settings.contact_address,
        ),
    )
    dkim_key = None
    if settings.dkim_selector is not None and settings.dkim_key_file is not None:
        dkim_key = DkimKey.load(settings.dkim_selector, sender.domain, settings.dkim_key_file)
    setup = MailSetup(sender, settings.mail_templates, dkim_key)
    setup.builder()
    return setup


def _deliverer(
    settings: Settings,
    db: Database,
    builders: WorkerPool,
    mail: MailSetup,
    attempts: Counter,
    agency: str,
) -> tuple[Deliverer, str]:
    from keys.keydir import KeyDir
    from signer.delivery.transport import PickupFolder, SmtpTransport, Transport
    from signer.delivery.worker import DeliveryConfig

    smtp = settings.smtp
    transport: Transport
    if smtp is None:
        transport = PickupFolder(settings.pickup_dir)
    else:
        transport = SmtpTransport(
            smtp,
            timeout=settings.smtp_timeout,
            connections=settings.smtp_connections,
            reuse=settings.smtp_reuse,
            ca_file=settings.smtp_ca_file,
        )
    deliverer = Deliverer(
        db,
        builders,
        transport,
        mail.sender,
        DeliveryConfig(
            max_age=settings.mail_max_age_hours * 3600,
            retry_base=settings.mail_retry_base,
            retry_max=settings.mail_retry_max,
        ),
        agency=agency,
        on_attempt=lambda outcome: attempts.labels(outcome.value).inc(),
        access_secret=KeyDir(settings.keys_dir).load_access_key(),
    )
    return deliverer, mail.sender.domain


def _verifier_app(
    settings: Settings, db: Database, blobs: BlobStore, metrics: Metrics, *, alone: bool
) -> web.Application:
    from keys.anchors import load_anchors
    from keys.keydir import KeyDir
    from plumbing.web.security import ClientAddress, RateLimit
    from verifier.app import PORTAL_LIMITED, RATE_LIMITED, create_app
    from verifier.site import Site
    from verifier.upload import UploadLimits

    keydir = KeyDir(settings.keys_dir)
    clients = ClientAddress(settings.trusted_proxies)
    access_secret = keydir.read_access_key()
    if access_secret is None:
        log.warning(
            "no access-code key in %s: generated access codes open nothing on this verifier "
            "(copy the signer's access-code.key there; see README, Containers)",
            keydir.root,
        )
    return create_app(
        db,
        keydir.trust_list,
        metrics,
        with_metrics=alone,
        signer_certificates=[keydir.signing_cert],
        rate_limit=RateLimit(settings.verify_rate, settings.verify_burst, RATE_LIMITED, clients),
        portal_limit=RateLimit(
            settings.portal_rate, settings.portal_burst, PORTAL_LIMITED, clients
        ),
        upload_limits=UploadLimits(
            max_bytes=int(settings.verify_max_mb * 1024 * 1024),
            max_pages=settings.verify_max_pages,
            timeout=settings.verify_timeout,
            workers=settings.verify_workers,
            queue=settings.verify_queue,
            max_memory_mb=settings.verify_max_memory_mb,
            anchors=load_anchors(settings.trust_anchors),
        ),
        blobs=blobs,
        site=Site(
            name=settings.portal_name,
            public_url=settings.public_url,
            agency=settings.contact_agency,
            phone=settings.contact_phone,
            email=settings.contact_email,
            address=settings.contact_address,
        ),
        access_secret=access_secret,
    )


async def _start_site(
    app: web.Application, listen: Listen, name: str, settings: Settings, drain: Drain
) -> None:
    """Serve ``app`` on ``listen``; its stop (requests in flight finish) joins the drain."""
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log_class=logs.AccessLog,
        shutdown_timeout=settings.shutdown_timeout * SHUTDOWN_SHARE,
    )
    await runner.setup()
    site = web.TCPSite(runner, listen.host, listen.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise InputError(f"cannot listen on {listen} for the {name}: {exc.strerror}") from exc
    drain.add(f"the {name}", runner.cleanup)
    for address in runner.addresses:
        host, port = address[0], address[1]
        log.info("%s listening on http://%s:%d", name, host, port)
