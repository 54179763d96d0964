"""What a final SIP response to our INVITE says about the callee (SPEC §6)."""

from __future__ import annotations

from outdial.calls import CalleeType

BUSY_CODES = frozenset({486, 600, 603})  # 603 Decline: the callee refused, as busy does
NOANSWER_CODES = frozenset({408, 480, 487})  # 487: the call was cancelled while ringing
INFORMATION_TONE_CODES = frozenset({404, 410, 484, 604})


def callee_type_for(status: int) -> CalleeType:
    """The callee type of an unanswered call that ended with ``status``.

    486/600 (and 603) busy; 408/480 no answer; 404/410/484/604 number not in service
    (what a SIT would say); everything else, 403 and 5xx included, the network failed.
    """
    if status in BUSY_CODES:
        return CalleeType.BUSY
    if status in NOANSWER_CODES:
        return CalleeType.NOANSWER
    if status in INFORMATION_TONE_CODES:
        return CalleeType.INFORMATIONTONE
    return CalleeType.LINEFAILURE
