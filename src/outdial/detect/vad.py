"""Voice activity on 20 ms frames of 8 kHz audio, by webrtcvad (the WebRTC GMM detector)."""

from __future__ import annotations

import webrtcvad  # type: ignore[import-untyped]

from outdial.audio.frames import FRAME_SAMPLES, SAMPLE_RATE


class VoiceActivity:
    """Says whether each 20 ms frame of 16-bit little-endian PCM holds speech."""

    def __init__(self, mode: int) -> None:
        if not 0 <= mode <= 3:
            raise ValueError(f"webrtcvad mode must be 0 to 3, not {mode}")
        self._vad = webrtcvad.Vad(mode)

    def is_speech(self, pcm: bytes) -> bool:
        """True when the frame (exactly 320 bytes) holds speech."""
        if len(pcm) != 2 * FRAME_SAMPLES:
            raise ValueError(f"a VAD frame is {2 * FRAME_SAMPLES} bytes, not {len(pcm)}")
        return bool(self._vad.is_speech(pcm, SAMPLE_RATE))
