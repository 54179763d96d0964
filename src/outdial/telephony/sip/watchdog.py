"""The media watchdog: an answered call whose callee sends no RTP for the carrier's media
timeout is hung up. A far end that died, or forgot the call, must not hold a line forever."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from outdial.telephony.rtp.session import RtpSession

MEDIA_CHECK = 1.0  # seconds between checks that the callee's RTP still flows


class MediaWatchdog:
    """Calls ``on_silence`` once when ``rtp`` has received nothing for ``timeout`` seconds;
    started at the answer, stopped when we hang up or the call ends."""

    def __init__(self, rtp: RtpSession, timeout: float, on_silence: Callable[[], None]) -> None:
        self._rtp = rtp
        self._timeout = timeout  # seconds
        self._on_silence = on_silence
        self._count = 0  # packets received at the last check
        self._seen = 0.0  # loop time the count last changed
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._seen = asyncio.get_running_loop().time()
        self._check()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        loop = asyncio.get_running_loop()
        if self._rtp.packets_received != self._count:
            self._count = self._rtp.packets_received
            self._seen = loop.time()
        elif loop.time() - self._seen >= self._timeout:
            self._timer = None
            self._on_silence()
            return
        self._timer = loop.call_later(MEDIA_CHECK, self._check)
