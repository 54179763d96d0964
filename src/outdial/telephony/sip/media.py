"""One SIP call's media: its RTP session on the carrier's ports and clock, the SDP that points
it at the far end, the callee's audio and DTMF queued for readers (from the answer on the
media clock: a far end that sends nothing is heard as silence until the call ends), and the
media watchdog."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from outdial.telephony.carrier import AudioFrame, Playback, timed_playback
from outdial.telephony.rtp.session import RtpSession
from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.message import Response
from outdial.telephony.sip.sdp import SessionDescription, negotiate
from outdial.telephony.sip.watchdog import MediaWatchdog

log = logging.getLogger(__name__)

AUDIO_QUEUE = 250  # frames (5 s) of received audio kept for a slow reader; older ones drop


class CallMedia:
    """The audio side of one call. ``on_silence`` is called if the answered callee stops
    sending RTP for the host's media timeout."""

    def __init__(self, host: LegHost, call_id: str, on_silence: Callable[[], None]) -> None:
        self.host = host
        self.call_id = call_id  # for the log
        self.rtp: RtpSession | None = None  # once open() was called
        self.answered = False
        self.digits_received: list[str] = []
        self._on_silence = on_silence
        # Every reader of audio() has its queue; the first is made now, so the first reader
        # (detection, from the dial) hears everything, early media included.
        self._audio: list[asyncio.Queue[AudioFrame | None]] = [asyncio.Queue(AUDIO_QUEUE)]
        self._unread: asyncio.Queue[AudioFrame | None] | None = self._audio[0]
        self._closed = False
        self._digits: asyncio.Queue[str | None] = asyncio.Queue()
        self._watchdog: MediaWatchdog | None = None

    async def open(self) -> RtpSession:
        """Bind an RTP port from the host's pool; raises ``NoFreePort``."""
        self.rtp = RtpSession(on_audio=self._on_audio, on_digit=self._on_digit)
        await self.rtp.open(self.host.local[0], self.host.ports)
        return self.rtp

    def take(self, response: Response) -> bool:
        """Point RTP at the SDP in ``response``, if it has one; True if it did."""
        if not response.body or "sdp" not in (response.headers.get("Content-Type") or ""):
            return False
        try:
            media = negotiate(SessionDescription.parse(response.body))
        except SipParseError as error:
            log.info("call %s: unusable SDP: %s", self.call_id, error)
            return False
        if self.rtp is not None:
            self.rtp.set_remote(media)
            self.host.clock.add(self.rtp)
        return True

    def answer(self) -> None:
        """The call was answered: send, and watch that the callee does too. From now on the
        callee's side runs on the media clock: no RTP while the call is up is silence for
        the readers of ``audio()``, which end only when the call does. If no reader took the
        audio from the dial (a deployment without detection), the frames kept for it are
        dropped: whoever reads from now on (a flow's menu or recording) hears the call from
        now, not the callee's first words again."""
        self.answered = True
        if self._unread is not None:
            self._audio.remove(self._unread)
            self._unread = None
        rtp = self.rtp
        if rtp is None:
            return
        rtp.sending = True
        rtp.listen(asyncio.get_running_loop().time())
        self.host.clock.add(rtp)  # an answer without SDP: the clock still keeps the time
        if rtp.remote is not None and rtp.direction in ("sendrecv", "sendonly"):
            self._watchdog = MediaWatchdog(rtp, self.host.media_timeout, self._on_silence)
            self._watchdog.start()

    def stop_sending(self) -> None:
        """We are hanging up: send nothing more, watch nothing more."""
        if self._watchdog is not None:
            self._watchdog.stop()
        if self.rtp is not None:
            self.rtp.sending = False

    def close(self) -> None:
        """Give the port back (what the reorder buffer holds still reaches the readers),
        then end ``audio()`` and ``digits()``."""
        if self._watchdog is not None:
            self._watchdog.stop()
        if self.rtp is not None:
            self.host.clock.discard(self.rtp)
            self.rtp.flush()
            self.rtp.close()
        self._digits.put_nowait(None)
        self._put_audio(None)
        self._closed = True

    def send_digits(self, digits: str) -> None:
        if self.rtp is None or not self.answered:
            raise RuntimeError("DTMF can only be sent on an answered call")
        self.rtp.send_digits(digits)

    def play(self, samples: bytes) -> None:
        if self.rtp is not None:
            self.rtp.play(samples)

    def play_prompt(self, ulaw: bytes) -> Playback:
        if self.rtp is None:
            return timed_playback(ulaw)
        return self.rtp.play_prompt(ulaw)

    async def audio(self) -> AsyncIterator[AudioFrame]:
        """The callee's audio from now on (the first reader, if it comes before the answer:
        from the start); each reader gets every frame."""
        if self._unread is not None:
            queue, self._unread = self._unread, None
        else:
            queue = asyncio.Queue(AUDIO_QUEUE)
            if self._closed:
                return
            self._audio.append(queue)
        try:
            while (frame := await queue.get()) is not None:
                yield frame
        finally:
            if queue in self._audio:
                self._audio.remove(queue)

    async def digits(self) -> AsyncIterator[str]:
        while (digit := await self._digits.get()) is not None:
            yield digit

    def _on_audio(self, samples: bytes) -> None:
        if self._audio:  # no reader (detection done, no recording): nothing to hand over
            self._put_audio(AudioFrame(samples, early=not self.answered))

    def _put_audio(self, frame: AudioFrame | None) -> None:
        for queue in self._audio:
            while True:
                try:
                    queue.put_nowait(frame)
                    break
                except asyncio.QueueFull:
                    queue.get_nowait()  # this reader is not keeping up: drop its oldest

    def _on_digit(self, digit: str) -> None:
        self.digits_received.append(digit)
        self._digits.put_nowait(digit)
