"""What a SIP call's task is fed, one item at a time, from its inbox: a response (or timeout)
from one of its client transactions, a BYE from the far end, or a request to hang up."""

from __future__ import annotations

from dataclasses import dataclass

from outdial.telephony.carrier import HangupCause
from outdial.telephony.sip.message import Request
from outdial.telephony.sip.transaction import ClientTransaction, TransactionEvent


@dataclass(frozen=True, slots=True)
class TxEvent:
    """A response to, or the timeout of, one of the call's client transactions."""

    tx: ClientTransaction
    event: TransactionEvent


@dataclass(frozen=True, slots=True)
class PeerBye:
    """The far end hung up: a BYE in the dialog, already answered 200 by the carrier."""

    request: Request


@dataclass(frozen=True, slots=True)
class HangupRequested:
    """We hang up (``Leg.hangup``), or the media watchdog does."""

    cause: HangupCause


InboxItem = TxEvent | PeerBye | HangupRequested
