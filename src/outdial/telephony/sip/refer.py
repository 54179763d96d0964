"""A blind transfer (RFC 3515 REFER) of an answered call: the far end is asked to call the
target itself, and tells us how that went in the NOTIFYs of the REFER's implicit subscription.

``Referral`` sends one REFER in the call's dialog and turns what comes back into an outcome:
a final response ≥300 to the REFER, or no answer, is ``failed``; once it is accepted (202),
each NOTIFY (``Event: refer``) carries a ``message/sipfrag`` status line of the transferee's
call: provisional ones keep us waiting, a final one decides (``outcome_for``). A subscription
terminated without a final status, the end of the call, or ``timeout_s`` without one is
``failed``. The parsing and the mapping are pure.
"""

from __future__ import annotations

import asyncio
import logging

from outdial.telephony.carrier import TransferOutcomeName
from outdial.telephony.sip import message
from outdial.telephony.sip.dialog import Dialog
from outdial.telephony.sip.errors import SipParseError, SipTimeout
from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.message import Request, Response
from outdial.telephony.sip.transaction import ClientTransaction, TransactionEvent
from outdial.telephony.sip.uri import SipUri, param, parse_params

log = logging.getLogger(__name__)

BUSY = (486, 600)
NOANSWER = (408, 480, 487)


def sipfrag_status(body: bytes) -> int | None:
    """The status code of a ``message/sipfrag`` body's status line (``SIP/2.0 180 Ringing``);
    None when the body holds no status line."""
    lines = body.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return None
    parts = lines[0].split(maxsplit=2)
    if len(parts) < 2 or not parts[0].upper().startswith("SIP/"):
        return None
    code = parts[1]
    if len(code) != 3 or not code.isdigit():
        return None
    return int(code)


def outcome_for(status: int) -> TransferOutcomeName | None:
    """The transfer's outcome for the transferee's status; None while it is provisional."""
    if status < 200:
        return None
    if status < 300:
        return "completed"
    if status in BUSY:
        return "busy"
    if status in NOANSWER:
        return "noanswer"
    return "failed"


def refer_to(host: LegHost, number: str) -> str:
    """The Refer-To URI of an E.164 number: on the trunk's host, as our INVITE's is."""
    trunk = host.config.uri
    return SipUri(trunk.host, number, trunk.port).serialize()


def _event_id(event: str) -> str | None:
    """The ``id`` parameter of an Event header (RFC 3515 §2.4.6: the REFER's CSeq number)."""
    _, semicolon, rest = event.partition(";")
    if not semicolon:
        return None
    try:
        return param(parse_params(rest, what="Event"), "id")
    except SipParseError:
        return None


def _subscription_over(request: Request) -> bool:
    state = request.headers.get("Subscription-State") or ""
    return state.split(";", 1)[0].strip().lower() == "terminated"


class Referral:
    """One REFER in a call's dialog, from its sending to its outcome."""

    def __init__(self, host: LegHost, dialog: Dialog, number: str) -> None:
        self.host = host
        self.dialog = dialog
        self.number = number
        loop = asyncio.get_running_loop()
        self.outcome: asyncio.Future[TransferOutcomeName] = loop.create_future()
        self.tx: ClientTransaction | None = None
        self.request: Request | None = None

    def send(self) -> None:
        """Send the REFER (Refer-To the number on the trunk, Referred-By our From)."""
        self.request = self.dialog.request(
            "REFER",
            self.host.via(),
            extra=[
                ("Refer-To", f"<{refer_to(self.host, self.number)}>"),
                ("Referred-By", f"<{self.dialog.local.uri.serialize()}>"),
                ("Contact", self.host.contact()),
            ],
        )
        hop = self.dialog.next_hop_address(self.host.peer)
        self.tx = self.host.start_transaction(self.request, hop, self._on_tx)

    async def wait(self, timeout_s: float) -> TransferOutcomeName:
        """The outcome; ``failed`` when none came within ``timeout_s``."""
        try:
            return await asyncio.wait_for(asyncio.shield(self.outcome), timeout_s)
        except TimeoutError:
            log.info("REFER to %s: no final NOTIFY within %.0f s", self.number, timeout_s)
            self._decide("failed")
            return "failed"

    def ended(self) -> None:
        """The call ended before the transfer's outcome was known."""
        self._decide("failed")

    def on_notify(self, request: Request) -> Response:
        """A NOTIFY in the call: the 200 to send back (a 489 when it is not the REFER's)."""
        event = request.headers.get("Event") or ""
        package = event.split(";", 1)[0].strip().lower()
        if package != "refer":
            return message.response_to(request, 489, "Bad Event")
        if self.request is not None and _event_id(event) not in (None, str(self.request.cseq[0])):
            return message.response_to(request, 481, "Subscription Does Not Exist")
        status = sipfrag_status(request.body)
        if status is not None and (outcome := outcome_for(status)) is not None:
            log.info("REFER to %s: the transferee's call got %d", self.number, status)
            self._decide(outcome)
        elif _subscription_over(request):
            self._decide("failed")
        return message.response_to(request, 200, "OK")

    def _on_tx(self, tx: ClientTransaction, event: TransactionEvent) -> None:
        if isinstance(event, SipTimeout):
            log.info("REFER to %s: no answer from the far end", self.number)
            self._decide("failed")
        elif event.status >= 300:
            log.info("REFER to %s refused: %s", self.number, event.status_line)
            self._decide("failed")

    def _decide(self, outcome: TransferOutcomeName) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)
