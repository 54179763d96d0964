"""A SIP call's audio readers: detection, reading from the dial, hears the call from its start;
a reader that comes after the answer (a flow's menu or recording on a call without detection)
hears it from when it starts, not the callee's first words again."""

from __future__ import annotations

import asyncio
from typing import cast

from outdial.telephony.sip.host import LegHost
from outdial.telephony.sip.media import CallMedia


def frame(n: int) -> bytes:
    return bytes([n]) * 320


async def read_all(media: CallMedia) -> list[int]:
    heard = []
    async for f in media.audio():
        heard.append(f.samples[0])
    return heard


def test_the_reader_from_the_dial_hears_everything() -> None:
    async def scenario() -> list[int]:
        media = CallMedia(cast(LegHost, object()), "c1", lambda: None)
        detection = asyncio.create_task(read_all(media))
        await asyncio.sleep(0)  # detection starts reading at the dial
        media._on_audio(frame(1))  # early media
        media.answer()
        media._on_audio(frame(2))
        media.close()
        return await detection

    assert asyncio.run(scenario()) == [1, 2]


def test_without_a_reader_from_the_dial_a_later_reader_hears_the_call_from_now() -> None:
    async def scenario() -> list[int]:
        media = CallMedia(cast(LegHost, object()), "c1", lambda: None)
        media._on_audio(frame(1))  # nobody listens: no detection on this call
        media.answer()
        media._on_audio(frame(2))  # the callee's "hello?", before the flow's menu
        menu = asyncio.create_task(read_all(media))
        await asyncio.sleep(0)
        media._on_audio(frame(3))  # the callee's answer to the menu
        media.close()
        return await menu

    assert asyncio.run(scenario()) == [3]
