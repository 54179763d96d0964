"""The ``outdial`` command. Every flag can also be set as OUTDIAL_<FLAG> in the environment."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from outdial import __version__
from outdial.accounts import DEFAULT_CPS, DEFAULT_MAX_LINES
from outdial.calls import DEFAULT_RETRY_ON, CalleeType
from outdial.config import (
    MAX_UPLOAD_BYTES,
    QUEUE_BURST,
    QUEUE_RATE,
    Settings,
    default_database_url,
)
from outdial.errors import InvalidField, NotFound, OutdialError
from outdial.store import db
from outdial.store.store import Store
from outdial.telephony.simulated import load_sim_config
from outdial.telephony.sip.config import parse_sip_config
from outdial.trunks import DEFAULT_TRUNK_CPS, DEFAULT_TRUNK_LINES, TrunkKind

DEMO_EMAIL = "demo@outdial.local"
DEMO_PASSWORD = "demo-password"
DEMO_CREDENTIALS = "demo-credentials.json"
DEMO_TRUNK = "demo-simulated"
_CALLER_ID = re.compile(r"\+?\d{2,15}")

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse whose flag defaults come from OUTDIAL_<FLAG> variables."""

    env: Mapping[str, str] = {}

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        flag = next((a for a in args if a.startswith("--")), None)
        if flag and kwargs.get("action") not in ("help", "version"):
            variable = "OUTDIAL_" + flag[2:].upper().replace("-", "_")
            if variable in self.env:
                value = self.env[variable]
                if kwargs.get("action") == "store_true":
                    kwargs["default"] = value.strip().lower() in ("1", "true", "yes", "on")
                else:
                    kwargs["default"] = value
                    kwargs["required"] = False
            kwargs["help"] = (kwargs.get("help") or "") + f" [env {variable}]"
        return super().add_argument(*args, **kwargs)


def _emit(obj: Mapping[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def _open_store(args: argparse.Namespace) -> Store:
    return Store.open(args.database_url)


def cmd_migrate(args: argparse.Namespace) -> int:
    engine = db.make_engine(args.database_url)
    try:
        db.migrate(engine)
        _emit(
            {"database_url": engine.url.render_as_string(), "revision": db.current_revision(engine)}
        )
    finally:
        engine.dispose()
    return 0


def cmd_account_create(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        account, key = store.create_account(args.email, args.password)
    finally:
        store.close()
    _emit(
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
    store = _open_store(args)
    try:
        key = store.reset_developer_key(args.email)
    finally:
        store.close()
    _emit({"email": args.email.strip().lower(), "developer_key": key})
    return 0


def cmd_app_create(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        app = store.create_application(args.account, args.name)
    finally:
        store.close()
    _emit({"application_id": app.id, "account_id": app.account_id, "name": app.name})
    return 0


def cmd_app_delete(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        store.delete_application(args.application_id)
    finally:
        store.close()
    _emit({"application_id": args.application_id, "deleted": True})
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def _calling_hours(text: str) -> str:
    from outdial.dispatch.hours import parse_calling_hours

    try:
        return str(parse_calling_hours(text))
    except InvalidField as error:
        raise argparse.ArgumentTypeError(error.reason) from None


def _retry_on(text: str) -> frozenset[CalleeType]:
    types = set()
    for part in text.split(","):
        try:
            types.add(CalleeType(part.strip()))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a callee type") from None
    return frozenset(types)


def _detection_params(text: str) -> dict[str, Any]:
    from outdial.detect.overrides import parse_overrides

    try:
        return parse_overrides(text)
    except InvalidField as error:
        raise argparse.ArgumentTypeError(error.reason) from None


def _caller_id(text: str) -> str:
    if not _CALLER_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be 2 to 15 digits, optionally after '+'")
    return text


def cmd_deployment_create(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
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
    finally:
        store.close()
    _emit(
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
            "queue_url": f"/api/apps/{dep.application_id}/{dep.id}/queue",
        }
    )
    if dep.trunk_id is None:
        print(
            "note: no --trunk, so this deployment's calls will be queued but not dialed",
            file=sys.stderr,
        )
    return 0


def cmd_trunk_create(args: argparse.Namespace) -> int:
    kind = TrunkKind(args.kind)
    sip_flags = ("uri", "transport", "username", "password", "from_domain", "local_host")
    if kind is TrunkKind.SIMULATED:
        given = [f for f in sip_flags if getattr(args, f) is not None]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise InvalidField(given[0], f"{flag} is for sip trunks, not simulated ones")
        config_text = Path(args.sim_config).read_text() if args.sim_config else "{}"
        load_sim_config(config_text)  # refuse a bad file now, not at dial time
    else:
        if args.sim_config:
            raise InvalidField("sim_config", "--sim-config is for simulated trunks")
        settings: dict[str, object] = {
            f: getattr(args, f) for f in sip_flags if getattr(args, f) is not None
        }
        if args.local_port is not None:
            settings["local_port"] = args.local_port
        if args.rtp_ports is not None:
            low, _, high = args.rtp_ports.partition("-")
            if not (low.isdigit() and high.isdigit()):
                raise InvalidField("rtp_ports", f"{args.rtp_ports!r} is not LOW-HIGH")
            settings["rtp_ports"] = [int(low), int(high)]
        config_text = parse_sip_config(settings).to_json()
    store = _open_store(args)
    try:
        trunk = store.create_trunk(
            args.name, kind, lines=args.lines, cps=args.cps, config=config_text
        )
    finally:
        store.close()
    _emit(
        {
            "trunk_id": trunk.id,
            "name": trunk.name,
            "kind": trunk.kind.value,
            "lines": trunk.lines,
            "cps": trunk.cps,
        }
    )
    return 0


def cmd_deployment_delete(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        store.delete_deployment(args.deployment_id)
    finally:
        store.close()
    _emit({"deployment_id": args.deployment_id, "deleted": True})
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
        dial_log=Path(args.sim_dial_log) if args.sim_dial_log else None,
        session_secret=args.session_secret or None,
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from outdial.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    # Imported here: numpy and webrtcvad would slow every other command's start.
    from outdial.detect.files import classify_file

    unreadable = 0
    for path in args.files:
        result = classify_file(Path(path))
        unreadable += "error" in result
        _emit(result)
    return 1 if unreadable else 0


def cmd_serve(args: argparse.Namespace) -> int:
    Store.open(args.database_url).close()  # migrate an empty database before serving
    return _serve(args)


def cmd_worker(args: argparse.Namespace) -> int:
    """Dial, without serving HTTP: one of several processes sharing a database."""
    import asyncio
    import signal

    from outdial.dispatch.dialer import Dialer, DialerSettings
    from outdial.dispatch.webhooks import WebhookSender

    store = Store.open(args.database_url)

    async def work() -> None:
        dialer = Dialer(
            store,
            DialerSettings(
                lease=args.lease,
                dial_log=Path(args.sim_dial_log) if args.sim_dial_log else None,
            ),
        )
        sender = WebhookSender(store, worker_id=dialer.worker_id)

        def stop() -> None:
            dialer.stop()
            sender.stop()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)
        logging.getLogger("outdial").info("worker %s dialing", dialer.worker_id)
        await asyncio.gather(
            asyncio.create_task(dialer.run(), name="dialer"),
            asyncio.create_task(sender.run(), name="webhook-sender"),
        )

    try:
        asyncio.run(work())
    finally:
        store.close()
    return 0


DEMO_SIM_CONFIG = {
    "seed": 1,
    "rules": [
        {
            "match": ".",
            "weights": {
                "voice": 55,
                "answeringmachine": 20,
                "noanswer": 10,
                "busy": 8,
                "informationtone": 4,
                "linefailure": 3,
            },
            "ring_s": 3.0,
            "talk_s": 8.0,
        }
    ],
}


def ensure_demo(store: Store, credentials_file: Path) -> dict[str, Any]:
    """The demo account, application and deployment; credentials kept beside the database."""
    saved: dict[str, Any] = {}
    if credentials_file.exists():
        saved = json.loads(credentials_file.read_text())
    account = store.account_by_email(DEMO_EMAIL)
    if account is None:
        account, key = store.create_account(DEMO_EMAIL, DEMO_PASSWORD)
    elif saved.get("developer_key") and store.authenticate(DEMO_EMAIL, saved["developer_key"]):
        key = saved["developer_key"]
    else:
        key = store.reset_developer_key(DEMO_EMAIL)
    trunk = store.trunk_by_name(DEMO_TRUNK) or store.create_trunk(
        DEMO_TRUNK,
        TrunkKind.SIMULATED,
        lines=20,
        cps=5.0,
        config=json.dumps(DEMO_SIM_CONFIG),
    )
    deployments = store.deployments_of(account)
    if deployments:
        deployment = deployments[0]
        if deployment.trunk_id is None:  # made by an outdial that could not dial yet
            store.set_deployment_trunk(deployment.id, trunk.id)
    else:
        app = store.create_application(DEMO_EMAIL, "Demo reminders")
        deployment = store.create_deployment(
            app.id,
            name="Demo outbound",
            caller_id="+18005550100",
            trunk_id=trunk.id,
            max_lines=10,
            cps=2.0,
        )
    demo = {
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "developer_key": key,
        "application_id": deployment.application_id,
        "deployment_id": deployment.id,
        # The UI's session key, kept with the credentials so a restart keeps people signed in.
        "session_secret": saved.get("session_secret") or secrets.token_hex(32),
    }
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    credentials_file.write_text(json.dumps(demo, indent=2) + "\n")
    credentials_file.chmod(0o600)
    return demo


def cmd_demo(args: argparse.Namespace) -> int:
    store = Store.open(args.database_url)
    try:
        database = store.engine.url.database or "."
        demo = ensure_demo(store, Path(database).parent / DEMO_CREDENTIALS)
    finally:
        store.close()
    if not args.session_secret:
        args.session_secret = demo["session_secret"]
    base = f"http://{args.host}:{args.port}"
    queue = f"{base}/api/apps/{demo['application_id']}/{demo['deployment_id']}/queue"
    print(
        "\n".join(
            [
                "",
                "outdial demo is starting",
                f"  web UI:        {base}/ui/  (sign in as {demo['email']}, "
                f"password {demo['password']})",
                f"  API docs:      {base}/docs",
                f"  account:       {demo['email']}",
                f"  developer key: {demo['developer_key']}",
                f"  application:   {demo['application_id']}   deployment: {demo['deployment_id']}",
                "  queue a call:",
                f"    curl -u '{demo['email']}:{demo['developer_key']}' \\",
                f"         -d phone_number=+16175550123 {queue}",
                "",
            ]
        ),
        flush=True,
    )
    return _serve(args)


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=default_database_url(),
        help="sqlite:///path/to/outdial.db (default) or postgresql+psycopg://user@host/db",
    )


def _add_server(parser: argparse.ArgumentParser) -> None:
    _add_database(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--default-region", default="US", help="region for numbers without +")
    parser.add_argument(
        "--max-upload-bytes", type=int, default=MAX_UPLOAD_BYTES, help="largest bulk upload"
    )
    parser.add_argument(
        "--queue-rate", type=float, default=QUEUE_RATE, help="single-call requests/s per account"
    )
    parser.add_argument(
        "--queue-burst", type=int, default=QUEUE_BURST, help="single-call requests at once"
    )
    parser.add_argument(
        "--ingest-workers", type=int, default=2, help="processes validating large uploads"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--no-dialer", action="store_true", help="serve the API only; dial in `outdial worker`s"
    )
    parser.add_argument(
        "--session-secret",
        default="",
        help="signs web UI sessions; the same in every process behind one address "
        "(default: random per process, so sign-ins end on restart)",
    )
    _add_dialing(parser)


def _add_dialing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease", type=_positive_float, default=30.0, help="seconds a claimed call stays ours"
    )
    parser.add_argument(
        "--sim-dial-log", help="append a JSON line per dial start and end to this file"
    )


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    _Parser.env = env
    parser = _Parser(prog="outdial", description="outdial: outbound voice calls.")
    parser.add_argument("--version", action="version", version=f"outdial {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(sub: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command(commands, "migrate", cmd_migrate, "bring the database to the latest schema")
    _add_database(p)
    p = command(commands, "serve", cmd_serve, "serve the API and dial (unless --no-dialer)")
    _add_server(p)
    p = command(
        commands,
        "demo",
        cmd_demo,
        "create the demo account, application and deployment, then serve",
    )
    _add_server(p)

    account = commands.add_parser("account", help="manage accounts").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(account, "create", cmd_account_create, "create an account and its developer key")
    _add_database(p)
    p.add_argument("--email", required=True, help="the account's e-mail (API user name)")
    p.add_argument("--password", help="password for the web UI")
    p = command(account, "reset-key", cmd_account_reset_key, "issue a new developer key")
    _add_database(p)
    p.add_argument("--email", required=True, help="the account's e-mail")

    p = command(commands, "worker", cmd_worker, "dial queued calls (no HTTP)")
    _add_database(p)
    _add_dialing(p)
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")

    trunk = commands.add_parser("trunk", help="manage trunks").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(trunk, "create", cmd_trunk_create, "create a trunk to dial through")
    _add_database(p)
    p.add_argument("--name", required=True, help="trunk name, used by deployments")
    p.add_argument("--kind", choices=[k.value for k in TrunkKind], required=True)
    p.add_argument("--lines", type=_positive_int, default=DEFAULT_TRUNK_LINES, help="calls at once")
    p.add_argument("--cps", type=_positive_float, default=DEFAULT_TRUNK_CPS, help="calls/s")
    p.add_argument("--sim-config", help="JSON file of simulation rules (simulated trunks)")
    p.add_argument("--uri", help="sip trunks: where calls go, sip:HOST[:PORT]")
    p.add_argument("--transport", help="sip trunks: udp (the default) or tcp")
    p.add_argument("--username", help="sip trunks: digest authentication user")
    p.add_argument("--password", help="sip trunks: digest authentication password")
    p.add_argument("--from-domain", help="sip trunks: host part of From (default: the trunk's)")
    p.add_argument("--local-host", help="sip trunks: local address for SIP and RTP")
    p.add_argument("--local-port", type=int, help="sip trunks: local SIP port (default: any)")
    p.add_argument("--rtp-ports", help="sip trunks: RTP port range LOW-HIGH (default 20000-30000)")

    app = commands.add_parser("app", help="manage applications").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(app, "create", cmd_app_create, "create an application")
    _add_database(p)
    p.add_argument("--account", required=True, help="e-mail of the owning account")
    p.add_argument("--name", required=True, help="application name")
    p = command(app, "delete", cmd_app_delete, "delete an application and its deployments")
    _add_database(p)
    p.add_argument("application_id", type=int)

    dep = commands.add_parser("deployment", help="manage deployments").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(dep, "create", cmd_deployment_create, "put an application into service")
    _add_database(p)
    p.add_argument("--app", type=int, required=True, help="application ID")
    p.add_argument("--name", help="deployment name")
    p.add_argument(
        "--max-lines", type=_positive_int, default=DEFAULT_MAX_LINES, help="calls held at once"
    )
    p.add_argument(
        "--cps", type=_positive_float, default=DEFAULT_CPS, help="calls started per second"
    )
    p.add_argument("--caller-id", type=_caller_id, help="default caller ID (digits)")
    p.add_argument("--trunk", help="name of the trunk that places its calls")
    p.add_argument(
        "--ring-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds a call may ring (at least 15)",
    )
    p.add_argument(
        "--calling-hours", type=_calling_hours, help="e.g. 08:00-21:00 in the callee's local time"
    )
    p.add_argument(
        "--retry-on",
        type=_retry_on,
        default=DEFAULT_RETRY_ON,
        help="comma-separated callee types to retry (default busy,noanswer,linefailure,unknown)",
    )
    p.add_argument(
        "--no-detection",
        action="store_true",
        help="do not run callee-type detection on answered calls",
    )
    p.add_argument(
        "--detection-params",
        type=_detection_params,
        help="detection thresholds to change, as JSON, e.g. '{\"dead_air_ms\": 4000}' "
        "(names and defaults in docs/detection.md)",
    )
    p = command(dep, "delete", cmd_deployment_delete, "delete a deployment")
    _add_database(p)
    p.add_argument("deployment_id", type=int)

    p = command(commands, "detect", cmd_detect, "classify audio files as a callee's side of a call")
    p.add_argument("files", nargs="+", help="WAV (PCM, µ-law, A-law) or raw .ul/.al at 8 kHz")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environment = dict(os.environ if env is None else env)
    args = build_parser(environment).parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except OutdialError as error:
        print(json.dumps({"error": error.message}), file=sys.stderr)
        return 1
    except db.SchemaOutdated as error:
        print(json.dumps({"error": str(error)}), file=sys.stderr)
        return 1
