"""Callee-type detection: who answered (a person, voicemail, fax, a SIT) from the audio.

Pure and synchronous. A carrier feeds the callee's audio from answer, 20 ms at a time (and,
optionally, greeting phrases heard with ``heard_words`` and our prompt with ``playing``); a
``voice`` verdict may later be revised to ``answeringmachine``::

    detector = Detector(DetectionParams())
    for payload in rtp_payloads:          # PCMU
        verdict = detector.feed_ulaw(payload)
        if verdict is not None:
            record(verdict.callee_type, verdict.cause, verdict.decided_ms, verdict.beep_end_ms)
        if detector.finished:
            break
"""

from outdial.detect.detector import Detector
from outdial.detect.params import DetectionParams
from outdial.detect.verdict import Cause, Heard, Verdict

__all__ = [
    "Cause",
    "DetectionParams",
    "Detector",
    "Heard",
    "Verdict",
]
