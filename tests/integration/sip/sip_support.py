"""Helpers for SIP calls against sipp on 127.0.0.1: ports, trunk settings, placing a call
and recording what happened, tone files."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import subprocess
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from outdial.audio import g711
from outdial.telephony.carrier import AudioFrame, DialRequest, Ended, HangupCause, LegEvent
from outdial.telephony.sip.carrier import SipCarrier
from outdial.telephony.sip.config import SipTrunkConfig
from outdial.telephony.sip.transaction import Timers
from outdial.telephony.sip.uri import SipUri

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP_TIMEOUT = 20  # seconds a sipp may run before it gives up by itself
# Short transaction timers so a peer that never answers fails in ~1 s, not 32 s.
TEST_TIMERS = Timers(t1=0.02, t2=0.2, t4=0.2, d=0.2)
RATE = 8000  # samples per second
T = TypeVar("T")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(size: int) -> int:
    """An even port starting ``size`` consecutive free UDP (and TCP) ports."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - size, 2)
        if all(_udp_free(p) and _tcp_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError("no free port block on 127.0.0.1")


@dataclass
class Sipp:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def wait(self, timeout: float = SIPP_TIMEOUT + 5) -> int:
        """sipp's exit code: 0 when every call of the scenario succeeded."""
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def messages(self) -> str:
        """sipp's log of the SIP messages it sent and received."""
        path = self.log.with_name(self.log.stem + "-messages.log")
        return path.read_text(errors="replace") if path.exists() else ""


def wait_bound(port: int, process: subprocess.Popen[bytes], *, tcp: bool = False) -> None:
    """Until the process listens on ``port`` (the port is no longer free)."""
    free = _tcp_free if tcp else _udp_free
    for _ in range(200):
        if process.poll() is not None or not free(port):
            return
        with contextlib.suppress(Exception):
            process.wait(0.01)


def trunk_config(port: int, **overrides: Any) -> SipTrunkConfig:
    base = free_block(40)
    settings: dict[str, Any] = {
        "uri": SipUri("127.0.0.1", port=port),
        "local_host": "127.0.0.1",
        "rtp_ports": (base, base + 40),
    }
    settings.update(overrides)
    return SipTrunkConfig(**settings)


@dataclass
class CallRecord:
    events: list[LegEvent] = field(default_factory=list)
    frames: list[AudioFrame] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    rtp_sent: int = 0
    transactions_left: int = 0

    @property
    def ended(self) -> Ended:
        last = self.events[-1]
        assert isinstance(last, Ended), self.events
        return last

    def audio(self, *, early: bool) -> npt.NDArray[np.int16]:
        chunks = [np.frombuffer(f.samples, "<i2") for f in self.frames if f.early is early]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def request(number: str = "+16175551234", **overrides: Any) -> DialRequest:
    values: dict[str, Any] = {
        "call_id": "call-1",
        "attempt": 1,
        "phone_number": number,
        "caller_id": "8009957586",
        "postd": None,
        "ring_timeout": 15.0,
    }
    values.update(overrides)
    return DialRequest(**values)


async def place_call(
    carrier: SipCarrier,
    dial: DialRequest,
    *,
    on_answer: Callable[..., object] | None = None,
    hangup_after: float | None = None,
    hangup_when_ringing: float | None = None,
) -> CallRecord:
    """Dial, collect events, audio and digits until the leg ends; optionally hang up."""
    record = CallRecord()
    leg = carrier.dial(dial)

    async def collect_audio() -> None:
        async for frame in leg.audio():
            record.frames.append(frame)

    async def collect_digits() -> None:
        async for digit in leg.digits():
            record.digits.append(digit)

    async def later(delay: float) -> None:
        await asyncio.sleep(delay)
        await leg.hangup(HangupCause.CANCELED)  # as a user cancelling the call

    side = [asyncio.create_task(collect_audio()), asyncio.create_task(collect_digits())]
    async for event in leg.events():
        record.events.append(event)
        name = type(event).__name__
        if name == "Ringing" and hangup_when_ringing is not None and len(side) == 2:
            side.append(asyncio.create_task(later(hangup_when_ringing)))
        if name == "Answered":
            if on_answer is not None:
                result = on_answer(leg)
                if asyncio.iscoroutine(result):
                    await result
            if hangup_after is not None:
                side.append(asyncio.create_task(later(hangup_after)))
    for task in side[2:]:
        task.cancel()
    await asyncio.gather(*side, return_exceptions=True)
    rtp = getattr(leg, "rtp", None)
    record.rtp_sent = rtp.packets_sent if rtp is not None else 0
    return record


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def tone_file(path: Path, freqs: list[tuple[float, float]]) -> Path:
    """Headerless µ-law (what sipp's rtp_stream wants): each (Hz, seconds) in turn."""
    parts = []
    for freq, seconds in freqs:
        t = np.arange(int(RATE * seconds)) / RATE
        parts.append((6000 * np.sin(2 * np.pi * freq * t)).astype(np.int16))
    path.write_bytes(g711.encode(np.concatenate(parts)))
    return path


def dominant_frequency(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])
