"""The one audio format inside outdial: 8 kHz mono 16-bit PCM, in 20 ms frames."""

from __future__ import annotations

SAMPLE_RATE = 8000  # Hz: RTP G.711 audio, and every detector input
FRAME_MS = 20  # ms per frame (RTP packetisation, RFC 3551 §4.5.14, and the detector's step)
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160 samples
