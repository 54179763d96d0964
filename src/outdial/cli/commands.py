"""One handler per ``outdial`` command: parsed flags in, JSON lines on stdout, an exit status out.

Errors are raised (``OutdialError``); ``outdial.cli.main`` prints them as JSON on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from outdial.cli import demo
from outdial.config import Settings, default_secret_key_file
from outdial.errors import InvalidField, NotFound
from outdial.secretbox import SecretBox
from outdial.store import db
from outdial.store.store import Store
from outdial.telephony.simulated import load_sim_config
from outdial.telephony.sip.config import parse_sip_config
from outdial.trunks import TrunkKind


def emit(obj: Mapping[str, Any]) -> None:
    """Print one JSON line: every command's output."""
    print(json.dumps(obj), flush=True)


@contextmanager
def opened_store(args: argparse.Namespace) -> Iterator[Store]:
    """The store at ``--database-url`` (an empty database gets the schema), closed after."""
    with closing(Store.open(args.database_url, box=secret_box(args))) as store:
        yield store


def secret_key_file(args: argparse.Namespace) -> Path:
    if args.secret_key_file:
        return Path(args.secret_key_file)
    default = default_secret_key_file(args.database_url)
    if default is None:
        raise InvalidField(
            "secret_key_file",
            "give --secret-key-file (or OUTDIAL_SECRET_KEY_FILE) with this database: every "
            "outdial process sharing it needs the same key file",
        )
    return default


def secret_box(args: argparse.Namespace) -> SecretBox:
    return SecretBox.from_file(secret_key_file(args))


def cmd_secrets_rotate(args: argparse.Namespace) -> int:
    """A new first key in the key file, every stored secret sealed again with it."""
    path = secret_key_file(args)
    old = secret_box(args)
    new = old.with_new_key()
    # The file first (old keys kept), then the secrets: a stop in between loses nothing.
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(b"".join(key + b"\n" for key in new.keys))
    os.replace(temporary, path)
    with closing(Store.open(args.database_url, box=old)) as store:
        store.box = new
        sealed = store.seal_secrets()
    emit(
        {
            "secret_key_file": str(path),
            "keys": len(new.keys),
            "sealed_again": sealed,
            "note": "restart every outdial process; then the old keys (every line but the "
            "first) may be removed from the file",
        }
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    # An engine, not a Store: Store.open refuses the outdated schema this command upgrades.
    engine = db.make_engine(args.database_url)
    try:
        db.migrate(engine)
        emit(
            {"database_url": engine.url.render_as_string(), "revision": db.current_revision(engine)}
        )
    finally:
        engine.dispose()
    return 0


def cmd_account_create(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        account, key = store.create_account(args.email, args.password)
    emit(
        {
            "account_id": account.id,
            "email": account.email,
            "developer_key": key,
            "webhook_secret": account.webhook_secret,
            "note": "the developer key is shown only now; store it safely",
        }
    )
    return 0


def cmd_account_reset_key(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        key = store.reset_developer_key(args.email)
    emit({"email": args.email.strip().lower(), "developer_key": key})
    return 0


def cmd_account_set_password(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        account = store.set_password(args.email, args.password)
    emit({"email": account.email, "password": "changed", "sign_ins": "ended"})
    return 0


def cmd_app_delete(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        store.delete_application(args.application_id)
    emit({"application_id": args.application_id, "deleted": True})
    return 0


def cmd_deployment_create(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        trunk_id = None
        if args.trunk:
            trunk = store.trunk_by_name(args.trunk)
            if trunk is None:
                raise NotFound(
                    f"no trunk named {args.trunk!r} (create it with `outdial trunk create`)"
                )
            trunk_id = trunk.id
        dep = store.create_deployment(
            args.app,
            name=args.name,
            max_lines=args.max_lines,
            cps=args.cps,
            caller_id=args.caller_id,
            trunk_id=trunk_id,
            ring_timeout=args.ring_timeout,
            calling_hours=args.calling_hours,
            retry_on=args.retry_on,
            detection=not args.no_detection,
            detection_params=args.detection_params,
        )
        if args.flow_url:
            store.set_flow_url(dep.id, args.flow_url)
    emit(
        {
            "deployment_id": dep.id,
            "application_id": dep.application_id,
            "name": dep.name,
            "max_lines": dep.max_lines,
            "cps": dep.cps,
            "caller_id": dep.caller_id,
            "trunk": args.trunk,
            "ring_timeout": dep.ring_timeout,
            "calling_hours": dep.calling_hours,
            "retry_on": sorted(dep.retry_on),
            "detection": dep.detection,
            "detection_params": dict(dep.detection_params),
            "flow_url": args.flow_url,
            "queue_url": f"/api/apps/{dep.application_id}/{dep.id}/queue",
        }
    )
    if dep.trunk_id is None:
        print(
            "note: no --trunk, so this deployment's calls will be queued but not dialed",
            file=sys.stderr,
        )
    return 0


def cmd_deployment_delete(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        store.delete_deployment(args.deployment_id)
    emit({"deployment_id": args.deployment_id, "deleted": True})
    return 0


def cmd_trunk_create(args: argparse.Namespace) -> int:
    kind = TrunkKind(args.kind)
    config_text = _sim_config(args) if kind is TrunkKind.SIMULATED else _sip_config(args)
    with opened_store(args) as store:
        trunk = store.create_trunk(
            args.name, kind, lines=args.lines, cps=args.cps, config=config_text
        )
    emit(
        {
            "trunk_id": trunk.id,
            "name": trunk.name,
            "kind": trunk.kind.value,
            "lines": trunk.lines,
            "cps": trunk.cps,
        }
    )
    return 0


_SIP_FLAGS = ("uri", "transport", "username", "password", "from_domain", "local_host")


def _sim_config(args: argparse.Namespace) -> str:
    """A simulated trunk's config (the --sim-config file), refused now if bad, not at dial time."""
    given = [f for f in _SIP_FLAGS if getattr(args, f) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise InvalidField(given[0], f"{flag} is for sip trunks, not simulated ones")
    config_text = Path(args.sim_config).read_text() if args.sim_config else "{}"
    load_sim_config(config_text)
    return config_text


def _sip_config(args: argparse.Namespace) -> str:
    """A sip trunk's config, from its flags."""
    if args.sim_config:
        raise InvalidField("sim_config", "--sim-config is for simulated trunks")
    settings: dict[str, object] = {
        f: getattr(args, f) for f in _SIP_FLAGS if getattr(args, f) is not None
    }
    if args.local_port is not None:
        settings["local_port"] = args.local_port
    if args.rtp_ports is not None:
        low, _, high = args.rtp_ports.partition("-")
        if not (low.isdigit() and high.isdigit()):
            raise InvalidField("rtp_ports", f"{args.rtp_ports!r} is not LOW-HIGH")
        settings["rtp_ports"] = [int(low), int(high)]
    return parse_sip_config(settings).to_json()


def cmd_detect(args: argparse.Namespace) -> int:
    # Imported here: numpy and webrtcvad would slow every other command's start.
    from outdial.detect.files import classify_file

    unreadable = 0
    for path in args.files:
        result = classify_file(Path(path), words=not args.no_words)
        unreadable += "error" in result
        emit(result)
    return 1 if unreadable else 0


def cmd_serve(args: argparse.Namespace) -> int:
    with opened_store(args):  # migrate an empty database before serving
        pass
    return _serve(args)


def cmd_demo(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        seeded = demo.ensure_demo(store, demo.credentials_path(store))
    if not args.session_secret:
        args.session_secret = seeded["session_secret"]
    if not args.allow_url_networks:  # the demo's callbacks may go to a receiver on this machine
        args.allow_url_networks = demo.LOCAL_RECEIVERS
    print(demo.banner(seeded, f"http://{args.host}:{args.port}"), flush=True)
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from outdial.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(
        database_url=args.database_url,
        default_region=args.default_region,
        max_upload_bytes=args.max_upload_bytes,
        queue_rate=args.queue_rate,
        queue_burst=args.queue_burst,
        ingest_workers=args.ingest_workers,
        dialer=not args.no_dialer,
        lease=args.lease,
        dial_log=_dial_log(args),
        tts_cache=_tts_cache(args),
        session_secret=args.session_secret or None,
        metrics_token=args.metrics_token or None,
        secret_key_file=secret_key_file(args),
        allow_url_networks=tuple(args.allow_url_networks),
    )


def _dial_log(args: argparse.Namespace) -> Path | None:
    return Path(args.sim_dial_log) if args.sim_dial_log else None


def _tts_cache(args: argparse.Namespace) -> Path | None:
    return Path(args.tts_cache) if args.tts_cache else None


def cmd_worker(args: argparse.Namespace) -> int:
    """Dial, without serving HTTP: one of several processes sharing a database."""
    with opened_store(args) as store:
        asyncio.run(_work(store, args))
    return 0


async def _work(store: Store, args: argparse.Namespace) -> None:
    # Imported here: the dialer loads the SIP stack and the detector, which only dialing needs.
    from outdial.dispatch.dialer import DialerSettings
    from outdial.dispatch.workers import Workers
    from outdial.outbound.policy import UrlPolicy

    settings = DialerSettings(
        lease=args.lease,
        dial_log=_dial_log(args),
        tts_cache=_tts_cache(args),
        url_policy=UrlPolicy(tuple(args.allow_url_networks)),
    )
    async with Workers(store, settings) as w:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, w.stop)
        logging.getLogger("outdial").info("worker %s dialing", w.dialer.worker_id)
        await w.wait()
