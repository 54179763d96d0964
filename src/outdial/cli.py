"""The ``outdial`` command. Every flag can also be set as OUTDIAL_<FLAG> in the environment."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from outdial import __version__
from outdial.accounts import DEFAULT_CPS, DEFAULT_MAX_LINES
from outdial.config import (
    MAX_UPLOAD_BYTES,
    QUEUE_BURST,
    QUEUE_RATE,
    Settings,
    default_database_url,
)
from outdial.errors import OutdialError
from outdial.store import db
from outdial.store.store import Store

DEMO_EMAIL = "demo@outdial.local"
DEMO_PASSWORD = "demo-password"
DEMO_CREDENTIALS = "demo-credentials.json"
_CALLER_ID = re.compile(r"\+?\d{2,15}")

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse whose flag defaults come from OUTDIAL_<FLAG> variables."""

    env: Mapping[str, str] = {}

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        flag = next((a for a in args if a.startswith("--")), None)
        if flag and kwargs.get("action") not in ("help", "version", "store_true"):
            variable = "OUTDIAL_" + flag[2:].upper().replace("-", "_")
            if variable in self.env:
                kwargs["default"] = self.env[variable]
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


def _caller_id(text: str) -> str:
    if not _CALLER_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be 2 to 15 digits, optionally after '+'")
    return text


def cmd_deployment_create(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        dep = store.create_deployment(
            args.app,
            name=args.name,
            max_lines=args.max_lines,
            cps=args.cps,
            caller_id=args.caller_id,
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
            "queue_url": f"/api/apps/{dep.application_id}/{dep.id}/queue",
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
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from outdial.app import create_app

    app = create_app(_settings(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    Store.open(args.database_url).close()  # migrate an empty database before serving
    return _serve(args)


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
    deployments = store.deployments_of(account)
    if deployments:
        deployment = deployments[0]
    else:
        app = store.create_application(DEMO_EMAIL, "Demo reminders")
        deployment = store.create_deployment(app.id, name="Demo outbound", caller_id="+18005550100")
    demo = {
        "email": DEMO_EMAIL,
        "password": DEMO_PASSWORD,
        "developer_key": key,
        "application_id": deployment.application_id,
        "deployment_id": deployment.id,
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
    base = f"http://{args.host}:{args.port}"
    queue = f"{base}/api/apps/{demo['application_id']}/{demo['deployment_id']}/queue"
    print(
        "\n".join(
            [
                "",
                "outdial demo is starting",
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
    p = command(commands, "serve", cmd_serve, "serve the API")
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
    p = command(dep, "delete", cmd_deployment_delete, "delete a deployment")
    _add_database(p)
    p.add_argument("deployment_id", type=int)
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
