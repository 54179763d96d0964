"""The recognition pool: worker processes, never the event loop, and closing."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from outdial.audio.files import read_audio
from outdial.speech.pool import PoolClosed, RecognitionPool


def test_the_pool_recognises_in_a_worker_while_the_loop_keeps_running(tmp_path: Path) -> None:
    clip = tmp_path / "yes.wav"
    subprocess.run(["flite", "-voice", "kal", "-t", "yes", "-o", str(clip)], check=True)
    pcm = read_audio(clip)

    async def main() -> tuple[str | None, str, int]:
        pool = RecognitionPool(workers=1)
        try:
            task = asyncio.create_task(pool.recognize({"yes": "1", "no": "2"}, pcm))
            ticks = 0
            while not task.done():  # the loop runs other work while the worker decodes
                await asyncio.sleep(0.005)
                ticks += 1
            heard = await task
            again = await pool.recognize({"no": "2", "yes": "1"}, pcm)  # same grammar, kept
            return heard.key, again.text, ticks
        finally:
            await pool.aclose()

    key, text, ticks = asyncio.run(main())

    assert (key, text) == ("1", "yes")
    assert ticks > 1


def test_a_started_pool_has_its_workers_ready_and_recognises(tmp_path: Path) -> None:
    clip = tmp_path / "no.wav"
    subprocess.run(["flite", "-voice", "kal", "-t", "no", "-o", str(clip)], check=True)

    async def main() -> str | None:
        pool = RecognitionPool(workers=2)
        try:
            await pool.start()
            return (await pool.recognize({"yes": "1", "no": "2"}, read_audio(clip))).key
        finally:
            pool.close()

    assert asyncio.run(main()) == "2"


def test_a_closed_pool_refuses_work() -> None:
    async def main() -> None:
        pool = RecognitionPool(workers=1)
        pool.close()
        await pool.recognize({"yes": "1"}, np.zeros(800, dtype=np.int16))

    with pytest.raises(PoolClosed, match="closed"):
        asyncio.run(main())


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecognitionPool(workers=0)
