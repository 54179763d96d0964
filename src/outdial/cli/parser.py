"""The ``outdial`` argument parser: commands, flags, and OUTDIAL_<FLAG> defaults for each."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any

from outdial import __version__
from outdial.accounts import DEFAULT_CPS, DEFAULT_MAX_LINES
from outdial.calls import DEFAULT_RETRY_ON, CalleeType
from outdial.cli.commands import (
    cmd_account_create,
    cmd_account_reset_key,
    cmd_account_set_password,
    cmd_app_delete,
    cmd_demo,
    cmd_deployment_create,
    cmd_deployment_delete,
    cmd_detect,
    cmd_migrate,
    cmd_secrets_rotate,
    cmd_serve,
    cmd_trunk_create,
    cmd_worker,
)
from outdial.cli.flowcmds import (
    cmd_app_audio,
    cmd_app_create,
    cmd_app_update,
    cmd_deployment_update,
    cmd_flow_check,
    cmd_flow_say,
    cmd_flow_schema,
    cmd_flow_voices,
    flow_url,
)
from outdial.cli.speechcmds import cmd_recognize, phrases_option, threshold_option, words_option
from outdial.config import MAX_UPLOAD_BYTES, QUEUE_BURST, QUEUE_RATE, default_database_url
from outdial.errors import InvalidField
from outdial.outbound.policy import Network, parse_networks
from outdial.trunks import DEFAULT_TRUNK_CPS, DEFAULT_TRUNK_LINES, TrunkKind

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


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=default_database_url(),
        help="sqlite:///path/to/outdial.db (default) or postgresql+psycopg://user@host/db",
    )
    parser.add_argument(
        "--secret-key-file",
        default="",
        help="the key sealing webhook secrets and trunk passwords in the database, created "
        "(mode 0600) when missing; back it up apart from the database; every process "
        "sharing a database needs the same file (default: secret.key beside a SQLite file; "
        "required with PostgreSQL)",
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
    parser.add_argument(
        "--metrics-token",
        default="",
        help="bearer token a Prometheus scraper sends to GET /metrics "
        "(default: none, and /metrics is off)",
    )
    _add_dialing(parser)


def _networks(text: str) -> tuple[Network, ...]:
    try:
        return parse_networks(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_dialing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lease", type=_positive_float, default=30.0, help="seconds a claimed call stays ours"
    )
    parser.add_argument(
        "--sim-dial-log", help="append a JSON line per dial start and end to this file"
    )
    parser.add_argument(
        "--allow-url-networks",
        type=_networks,
        default=(),
        help="networks (comma-separated, e.g. 127.0.0.0/8,10.1.0.0/16) of your own receivers "
        "that result callbacks, flow URLs and http steps may reach although they are not "
        "public (default: none; loopback, private and link-local addresses are refused)",
    )
    parser.add_argument(
        "--tts-cache",
        help="a directory keeping call flows' synthesised prompts across restarts "
        "(default: in memory only)",
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
    p = command(
        account,
        "set-password",
        cmd_account_set_password,
        "set the web UI password (ends every sign-in of the account)",
    )
    _add_database(p)
    p.add_argument("--email", required=True, help="the account's e-mail")
    p.add_argument("--password", required=True, help="the new password (8 characters or more)")
    p = command(account, "reset-key", cmd_account_reset_key, "issue a new developer key")
    _add_database(p)
    p.add_argument("--email", required=True, help="the account's e-mail")

    secrets = commands.add_parser("secrets", help="the key sealing stored secrets").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(
        secrets,
        "rotate",
        cmd_secrets_rotate,
        "add a new key to the secret key file and seal every stored secret with it",
    )
    _add_database(p)

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
    p.add_argument("--flow", help="its call flow: a YAML or JSON file (docs/flows.md)")
    p = command(app, "update", cmd_app_update, "give an application a new version of its flow")
    _add_database(p)
    p.add_argument("--app", type=int, required=True, help="application ID")
    p.add_argument(
        "--flow", required=True, help="the call flow: a YAML or JSON file (docs/flows.md)"
    )
    p = command(app, "audio", cmd_app_audio, "keep an audio prompt with an application")
    _add_database(p)
    p.add_argument("--app", type=int, required=True, help="application ID")
    p.add_argument("--name", help="the name flows use (say: {audio: NAME}); default: file name")
    p.add_argument("file", help="WAV (PCM, µ-law, A-law; any rate) or raw µ-law .ul at 8 kHz")
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
    p.add_argument(
        "--flow-url",
        type=flow_url,
        help="fetch each call's flow from this web service (a signed POST while the phone rings)",
    )
    p = command(dep, "update", cmd_deployment_update, "change a deployment's flow URL")
    _add_database(p)
    p.add_argument("--deployment", type=int, required=True, help="deployment ID")
    p.add_argument(
        "--flow-url",
        type=flow_url,
        required=True,
        help="the flow service's URL, or 'none' to run the application's stored flow",
    )
    p = command(dep, "delete", cmd_deployment_delete, "delete a deployment")
    _add_database(p)
    p.add_argument("deployment_id", type=int)

    flow = commands.add_parser("flow", help="check call flows").add_subparsers(
        dest="action", required=True, parser_class=_Parser
    )
    p = command(flow, "check", cmd_flow_check, "validate a flow file: problems as JSON lines")
    p.add_argument("file", help="a YAML or JSON flow (docs/flows.md)")
    p.add_argument(
        "--params", help="comma-separated call parameter names: unknown ${names} are errors"
    )
    command(flow, "schema", cmd_flow_schema, "print the flow document's JSON Schema")
    command(flow, "voices", cmd_flow_voices, "list the voices, and whether this host has them")
    p = command(flow, "say", cmd_flow_say, "speak text in a voice into a WAV file (8 kHz)")
    p.add_argument("text", help="what to say")
    p.add_argument("--voice", default="en-us", help="engine:voice or an espeak-ng voice")
    p.add_argument("--out", required=True, help="the WAV file to write")

    p = command(commands, "detect", cmd_detect, "classify audio files as a callee's side of a call")
    p.add_argument("files", nargs="+", help="WAV (PCM, µ-law, A-law) or raw .ul/.al at 8 kHz")
    p.add_argument(
        "--no-words",
        action="store_true",
        help="decide on sound alone, without spotting greeting phrases (pocketsphinx)",
    )

    p = command(
        commands,
        "recognize",
        cmd_recognize,
        "recognise one spoken answer per audio file against a menu's words: a JSON line each",
    )
    grammar = p.add_mutually_exclusive_group(required=True)
    grammar.add_argument(
        "--words",
        type=words_option,
        help='comma-separated words or phrases, each its own key, e.g. "yes,no,one,two"',
    )
    grammar.add_argument(
        "--phrases",
        type=phrases_option,
        help='a menu\'s speech as JSON, phrase -> key, e.g. \'{"yes": "1", "no": "2"}\'',
    )
    p.add_argument(
        "--threshold",
        type=threshold_option,
        default=0.7,
        help="confidence (0-1) below which an answer is no match (default 0.7)",
    )
    p.add_argument(
        "--no-synonyms",
        action="store_true",
        help='hear only the words given, not their synonyms ("yeah", "yep"… for "yes")',
    )
    p.add_argument("files", nargs="+", help="WAV (PCM, µ-law, A-law) or raw .ul/.al at 8 kHz")
    return parser
