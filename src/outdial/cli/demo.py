"""The demo behind ``outdial demo`` (and ``make run``): what it seeds and what it prints.

``ensure_demo`` makes, once, the demo account, its application and deployment and the
simulated trunk the deployment dials through, and keeps the credentials in a file beside the
database; running it again finds them and changes nothing that works. ``banner`` is the text
``outdial demo`` prints before serving: where to sign in and a ``curl`` line that queues a call.

The demo application runs the appointment-reminder flow (``flow/examples``), and the simulated
callees play along: the banner's number is a person who presses 1 to confirm, and
``DEMO_SPOKEN_NUMBER`` one who says "yes"; other numbers are people who confirm (1, or "yes"
for numbers ending in 4 to 6) or ask for the front desk (2, a transfer to another simulated
person), voicemails that take the message after their beep, and calls that fail.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from outdial.accounts import Account, Deployment
from outdial.flow.examples import example
from outdial.flow.saving import save_flow
from outdial.outbound.policy import parse_networks
from outdial.store.store import Store
from outdial.trunks import Trunk, TrunkKind

DEMO_EMAIL = "demo@outdial.local"
DEMO_PASSWORD = "demo-password"
DEMO_CREDENTIALS = "demo-credentials.json"  # beside the database file
DEMO_TRUNK = "demo-simulated"
# What `outdial demo` lets result callbacks, flow URLs and http steps reach besides public
# addresses: a receiver on this machine (`python -m http.server`, a test webhook).
LOCAL_RECEIVERS = parse_networks("127.0.0.0/8,::1/128")
DEMO_PHONE_NUMBER = "+16175550123"  # the callee in the banner's curl line: presses 1
DEMO_SPOKEN_NUMBER = "+16175550124"  # a callee who answers the menu by saying "yes"
DEMO_FLOW = "appointment_reminder"
DEMO_PARAMETERS = {"first_name": "Ann", "date": "Tuesday at 10"}  # the flow's ${variables}
FRONT_DESK = "+16175550100"  # where the reminder's option 2 transfers (FLOWS.md)
# A voicemail that says "Hello?", pauses 2 s, then asks for a message and beeps late: its first
# verdict is a person's; a detector that revises turns it into a machine (docs/detection.md).
LATE_BEEP_VOICEMAIL = "+16175550166"

# Seconds from the answer: the greeting (about 5 s) and the menu's prompt have begun by then.
_PRESS_AT = 9.0
_FAILURES = {"noanswer": 10, "busy": 8, "informationtone": 4, "linefailure": 3}
DEMO_SIM_CONFIG = {
    "seed": 1,
    "rules": [
        # The front desk answers transfers and talks with the callee for a while.
        {"match": f"^\\{FRONT_DESK}$", "outcome": "voice", "ring_s": 2.0, "talk_s": 15.0},
        # The banner's number: a person who confirms.
        {
            "match": f"^\\{DEMO_PHONE_NUMBER}$",
            "outcome": "voice",
            "ring_s": 3.0,
            "callee": {"press": [{"at_s": _PRESS_AT, "digits": "1"}], "hangup_s": 30.0},
        },
        {
            "match": f"^\\{LATE_BEEP_VOICEMAIL}$",
            "outcome": "answeringmachine",
            "ring_s": 3.0,
            "talk_s": 25.0,
            "callee": {"sound": "voicemail-late-beep"},
        },
        # A person who confirms by saying "yes" while the question is asked.
        {
            "match": f"^\\{DEMO_SPOKEN_NUMBER}$",
            "outcome": "voice",
            "ring_s": 3.0,
            "callee": {"say": [{"at_s": _PRESS_AT, "text": "yes"}], "hangup_s": 30.0},
        },
        # Numbers ending in 4 to 6: people who confirm by saying "yes", voicemails, failures.
        {
            "match": "[4-6]$",
            "weights": {"voice": 50, "answeringmachine": 25, **_FAILURES},
            "ring_s": 3.0,
            "callee": {"say": [{"at_s": _PRESS_AT, "text": "yes"}], "hangup_s": 30.0},
        },
        # Numbers ending in 7 to 9: people who ask for the front desk.
        {
            "match": "[7-9]$",
            "weights": {"voice": 70, "answeringmachine": 15, **_FAILURES},
            "ring_s": 3.0,
            "callee": {"press": [{"at_s": _PRESS_AT, "digits": "2"}], "hangup_s": 40.0},
        },
        # The rest: people who confirm, voicemails, and calls that fail.
        {
            "match": ".",
            "weights": {"voice": 50, "answeringmachine": 25, **_FAILURES},
            "ring_s": 3.0,
            "callee": {"press": [{"at_s": _PRESS_AT, "digits": "1"}], "hangup_s": 30.0},
        },
    ],
}


def credentials_path(store: Store) -> Path:
    """Where the demo's credentials are kept: beside an SQLite database, else here."""
    database = store.engine.url.database or "."
    return Path(database).parent / DEMO_CREDENTIALS


def ensure_demo(store: Store, credentials_file: Path) -> dict[str, Any]:
    """The demo account, application and deployment; credentials kept beside the database."""
    saved: dict[str, Any] = {}
    if credentials_file.exists():
        saved = json.loads(credentials_file.read_text())
    account, key = _account(store, saved.get("developer_key"))
    deployment = _deployment(store, account, _trunk(store))
    if store.current_flow(deployment.application_id) is None:
        save_flow(store, deployment.application_id, example(DEMO_FLOW), DEMO_EMAIL)
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


def _account(store: Store, saved_key: str | None) -> tuple[Account, str]:
    """The demo account and a developer key that works: the saved one, else a new one."""
    account = store.account_by_email(DEMO_EMAIL)
    if account is None:
        return store.create_account(DEMO_EMAIL, DEMO_PASSWORD)
    if saved_key and store.authenticate(DEMO_EMAIL, saved_key):
        return account, saved_key
    return account, store.reset_developer_key(DEMO_EMAIL)


def _trunk(store: Store) -> Trunk:
    return store.trunk_by_name(DEMO_TRUNK) or store.create_trunk(
        DEMO_TRUNK,
        TrunkKind.SIMULATED,
        lines=20,
        cps=5.0,
        config=json.dumps(DEMO_SIM_CONFIG),
    )


def _deployment(store: Store, account: Account, trunk: Trunk) -> Deployment:
    """The account's first deployment, dialing through ``trunk``; made with its application."""
    deployments = store.deployments_of(account)
    if deployments:
        deployment = deployments[0]
        if deployment.trunk_id is None:  # made by an outdial that could not dial yet
            store.set_deployment_trunk(deployment.id, trunk.id)
        return deployment
    app = store.create_application(DEMO_EMAIL, "Demo reminders")
    return store.create_deployment(
        app.id,
        name="Demo outbound",
        caller_id="+18005550100",
        trunk_id=trunk.id,
        max_lines=10,
        cps=2.0,
    )


def banner(demo: dict[str, Any], base: str) -> str:
    """What ``outdial demo`` prints before serving at ``base`` (``http://host:port``)."""
    queue = f"{base}/api/apps/{demo['application_id']}/{demo['deployment_id']}/queue"
    parameters = json.dumps(DEMO_PARAMETERS)
    return "\n".join(
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
            f"         -d phone_number={DEMO_PHONE_NUMBER} \\",
            f"         --data-urlencode 'call_parameters={parameters}' \\",
            f"         {queue}",
            "  the call runs the appointment-reminder flow: see its results in the web UI",
            f'  (phone_number={DEMO_SPOKEN_NUMBER} answers the question by saying "yes")',
            "",
        ]
    )


__all__ = [
    "DEMO_CREDENTIALS",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_SIM_CONFIG",
    "DEMO_SPOKEN_NUMBER",
    "DEMO_TRUNK",
    "banner",
    "credentials_path",
    "ensure_demo",
]
