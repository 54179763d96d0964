"""Client transactions over UDP (RFC 3261 §17.1): INVITE (Timers A, B, D) and non-INVITE
(Timers E, F, K).

A transaction retransmits its request until a response comes, hands every new response to
its owner through ``on_event``, and ACKs non-2xx finals to INVITE hop by hop (same branch,
§17.1.1.3). 2xx to INVITE end the transaction: the dialog ACKs them end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable
from dataclasses import dataclass

from outdial.telephony.sip import message
from outdial.telephony.sip.errors import SipTimeout
from outdial.telephony.sip.message import Request, Response

MAX_FORWARDS = "70"


@dataclass(frozen=True, slots=True)
class Timers:
    """RFC 3261 §17.1.1.1 and Table 4 values; tests shrink them."""

    t1: float = 0.5  # seconds: RTT estimate
    t2: float = 4.0  # seconds: longest retransmit interval for non-INVITE
    t4: float = 5.0  # seconds: how long a message may stay in the network
    d: float = 32.0  # seconds: Timer D, absorb retransmitted non-2xx finals (UDP)

    @property
    def b(self) -> float:  # Timer B and F: 64*T1
        return 64 * self.t1


class State(enum.Enum):
    CALLING = "calling"  # INVITE sent (or non-INVITE "trying"), no response
    PROCEEDING = "proceeding"  # a provisional came
    COMPLETED = "completed"  # a final came; absorbing retransmissions
    TERMINATED = "terminated"


TransactionEvent = Response | SipTimeout


class ClientTransaction:
    def __init__(
        self,
        request: Request,
        send: Callable[[Request], None],
        on_event: Callable[[ClientTransaction, TransactionEvent], None],
        on_terminated: Callable[[ClientTransaction], None],
        timers: Timers,
        *,
        reliable: bool = False,
    ) -> None:
        self.request = request
        self.reliable = reliable  # TCP: no retransmissions, no Timer D/K (RFC 3261 §17.1)
        self.branch = request.top_via.branch or ""
        self.method = request.method
        self.key = (self.branch, self.method)
        self.invite = request.method == "INVITE"
        self.state = State.CALLING
        self.timers = timers
        self._send = send
        self._on_event = on_event
        self._on_terminated = on_terminated
        self._ack: Request | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._send(self.request)
        self._task = asyncio.create_task(self._run(), name=f"sip-tx-{self.method}-{self.branch}")

    async def _run(self) -> None:
        """Retransmit while no response came (Timers A/E); give up at Timer B/F."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timers.b
        interval = self.timers.t1
        try:
            while self.state in (State.CALLING, State.PROCEEDING):
                if self.invite and self.state is State.PROCEEDING:
                    # RFC 3261 §17.1.1.2: no retransmission, no Timer B once proceeding
                    await self._wait_for_change(State.PROCEEDING, None)
                    continue
                now = loop.time()
                if now >= deadline:
                    self._finish(SipTimeout())
                    return
                state = self.state
                await self._wait_for_change(state, min(interval, deadline - now))
                if self.state is state and loop.time() < deadline and not self.reliable:
                    self._send(self.request)
                    if self.invite:
                        interval *= 2  # §17.1.1.2: Timer A doubles
                    elif self.state is State.CALLING:
                        interval = min(interval * 2, self.timers.t2)  # §17.1.2.2: Timer E
                    else:
                        interval = self.timers.t2  # proceeding: retransmit every T2
            if self.state is State.COMPLETED and not self.reliable:
                # Timer D (INVITE, absorb retransmitted finals) or Timer K (non-INVITE)
                await asyncio.sleep(self.timers.d if self.invite else self.timers.t4)
        finally:
            self.state = State.TERMINATED
            self._on_terminated(self)

    async def _wait_for_change(self, state: State, timeout: float | None) -> None:
        self._changed.clear()
        if self.state is not state:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def _set_state(self, state: State) -> None:
        self.state = state
        self._changed.set()

    def _finish(self, event: TransactionEvent) -> None:
        self._set_state(State.TERMINATED)
        self._on_event(self, event)

    def receive(self, response: Response) -> None:
        """A response whose top Via branch and CSeq method match this transaction."""
        status = response.status
        if self.state in (State.CALLING, State.PROCEEDING):
            if status < 200:
                self._set_state(State.PROCEEDING)
            elif self.invite and status < 300:
                self._set_state(State.TERMINATED)  # §17.1.1.2: the TU ACKs 2xx
            else:
                if self.invite:
                    self._ack = ack_for_non_2xx(self.request, response)
                    self._send(self._ack)
                self._set_state(State.COMPLETED)
            self._on_event(self, response)
        elif self.state is State.COMPLETED and self.invite and self._ack and status >= 300:
            self._send(self._ack)  # a retransmitted final: ACK it again, tell no one

    def fail(self, error: SipTimeout) -> None:
        """The transport cannot deliver: end now if no final came."""
        if self.state in (State.CALLING, State.PROCEEDING):
            self._finish(error)

    def abandon(self) -> None:
        """The call is over: stop waiting for a final response that may never come (an
        INVITE that got a provisional has no timer of its own, RFC 3261 §17.1.1.2)."""
        if self.state in (State.CALLING, State.PROCEEDING) and self._task is not None:
            self._task.cancel()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()


def ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """RFC 3261 §17.1.1.3: same Request-URI, top Via, Call-ID, From and Route as the INVITE,
    To from the response (its tag), CSeq number with ACK."""
    headers: list[tuple[str, str]] = [("Via", invite.headers.values("Via")[0])]
    headers += [("Route", v) for v in invite.headers.get_all("Route")]
    headers += [
        ("Max-Forwards", MAX_FORWARDS),
        ("From", invite.headers.get("From") or ""),
        ("To", response.headers.get("To") or ""),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq[0]} ACK"),
    ]
    return message.request("ACK", invite.uri, headers)


def cancel_for(invite: Request) -> Request:
    """RFC 3261 §9.1: a CANCEL matching the INVITE's transaction (same branch)."""
    headers: list[tuple[str, str]] = [("Via", invite.headers.values("Via")[0])]
    headers += [("Route", v) for v in invite.headers.get_all("Route")]
    headers += [
        ("Max-Forwards", MAX_FORWARDS),
        ("From", invite.headers.get("From") or ""),
        ("To", invite.headers.get("To") or ""),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq[0]} CANCEL"),
    ]
    return message.request("CANCEL", invite.uri, headers)
