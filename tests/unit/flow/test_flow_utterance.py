"""The endpointer: where an utterance starts and ends, on made-up frames (a fake VAD: loud is
voice) and on the simulated callee's recorded speech with the real webrtcvad."""

from __future__ import annotations

import random

import numpy as np

from outdial.audio.frames import FRAME_MS, FRAME_SAMPLES
from outdial.calls import CalleeType
from outdial.flow.utterance import (
    END_SILENCE_MS,
    MAX_UTTERANCE_MS,
    PREROLL_MS,
    TAIL_MS,
    EchoReference,
    Endpointer,
    Started,
    Utterance,
)
from outdial.telephony import simaudio

LOUD = (8000 * np.sin(2 * np.pi * 440 * np.arange(FRAME_SAMPLES) / 8000)).astype("<i2").tobytes()
QUIET = bytes(2 * FRAME_SAMPLES)


def frames(ms: int, frame: bytes) -> list[bytes]:
    return [frame] * (ms // FRAME_MS)


def run(endpointer: Endpointer, audio: list[bytes]) -> list[tuple[int, Started | Utterance]]:
    """What the endpointer said, each with the index of the frame that made it say it."""
    out: list[tuple[int, Started | Utterance]] = []
    for index, frame in enumerate(audio):
        said = endpointer.feed(frame)
        if said is not None:
            out.append((index, said))
    return out


def fake() -> Endpointer:
    return Endpointer(lambda frame: True)  # every frame above the energy floor is voice


def test_silence_and_clicks_are_not_utterances() -> None:
    clicks = (
        frames(1000, QUIET) + [LOUD] * 2 + frames(300, QUIET) + [LOUD] * 3 + frames(2000, QUIET)
    )
    assert run(fake(), clicks) == []


def test_a_word_starts_then_ends_after_the_closing_silence() -> None:
    audio = frames(1000, QUIET) + frames(400, LOUD) + frames(1500, QUIET)
    said = run(fake(), audio)
    assert [type(s) for _, s in said] == [Started, Utterance]
    (started_at, started), (ended_at, utterance) = said
    assert isinstance(started, Started) and isinstance(utterance, Utterance)
    assert started.at_ms == 1000 and utterance.start_ms == 1000
    # known once 100 ms of it were heard; over once END_SILENCE_MS of quiet followed it
    assert started_at * FRAME_MS == 1000 + 100 - FRAME_MS
    assert ended_at * FRAME_MS == 1400 + END_SILENCE_MS - FRAME_MS
    assert utterance.duration_ms == PREROLL_MS + 400 + TAIL_MS
    assert not utterance.capped
    loud = np.frombuffer(LOUD, dtype="<i2")
    voiced = utterance.pcm[PREROLL_MS * 8 : (PREROLL_MS + 400) * 8]
    assert np.array_equal(voiced, np.tile(loud, 400 // FRAME_MS))


def test_a_pause_between_words_does_not_end_the_utterance() -> None:
    audio = frames(400, QUIET) + frames(300, LOUD) + frames(400, QUIET) + frames(300, LOUD)
    audio += frames(1000, QUIET)
    said = run(fake(), audio)
    assert [type(s) for _, s in said] == [Started, Utterance]
    utterance = said[1][1]
    assert isinstance(utterance, Utterance)
    assert utterance.duration_ms == PREROLL_MS + 1000 + TAIL_MS


def test_someone_who_keeps_talking_is_cut_and_heard_again_after_quiet() -> None:
    audio = frames(200, QUIET) + frames(8000, LOUD) + frames(1000, QUIET)
    audio += frames(300, LOUD) + frames(1000, QUIET)
    said = run(fake(), audio)
    assert [type(s) for _, s in said] == [Started, Utterance, Started, Utterance]
    first, second = said[1][1], said[3][1]
    assert isinstance(first, Utterance) and isinstance(second, Utterance)
    assert first.capped and not second.capped
    assert first.duration_ms == 200 + MAX_UTTERANCE_MS  # preroll (only 200 ms of it) + the cap
    assert second.start_ms == 200 + 8000 + 1000


def test_the_end_of_the_audio_ends_the_utterance_under_way() -> None:
    endpointer = fake()
    assert run(endpointer, frames(300, LOUD))[0][1] == Started(0)
    assert endpointer.speaking
    utterance = endpointer.end()
    assert utterance is not None and utterance.duration_ms == 300
    assert endpointer.end() is None and not endpointer.speaking


def test_a_frame_of_the_wrong_size_is_refused() -> None:
    try:
        fake().feed(b"\x00" * 10)
    except ValueError as error:
        assert "320 bytes" in str(error)
    else:
        raise AssertionError("a 10-byte frame was taken")


def pcm_frames(pcm: np.ndarray) -> list[bytes]:
    whole = len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES
    data = pcm[:whole].astype("<i2").tobytes()
    return [data[i : i + 2 * FRAME_SAMPLES] for i in range(0, len(data), 2 * FRAME_SAMPLES)]


def test_webrtcvad_finds_a_spoken_word_on_a_quiet_line() -> None:
    """The simulated callee's "yes" (espeak-ng) in the line noise the simulated carrier adds:
    one utterance, holding the word, and nothing from the noise alone."""
    line = simaudio.answered_audio(CalleeType.UNKNOWN, random.Random(1), 4.0)  # -60 dBFS noise
    word = simaudio.said("yes")
    pcm = line.copy()
    at = 1 * 8000
    pcm[at : at + len(word)] += word
    said = run(Endpointer(), pcm_frames(pcm))
    assert [type(s) for _, s in said] == [Started, Utterance], said
    utterance = said[1][1]
    assert isinstance(utterance, Utterance)
    assert 900 <= utterance.start_ms <= 1000 + len(word) // 8
    held = utterance.pcm
    loudest = int(np.argmax(np.abs(pcm)))  # the word's loudest sample is in the utterance
    start = utterance.start_ms * 8 - PREROLL_MS * 8
    assert start <= loudest < start + len(held)
    assert run(Endpointer(), pcm_frames(line)) == []


def test_the_echo_reference_is_our_loudest_frame_of_the_last_half_second() -> None:
    sent = EchoReference()
    assert sent.level(0.0) == 0.0
    pcm = np.concatenate([np.full(160, 100, np.int16), np.full(160, 1000, np.int16)])
    sent.play(10.0, np.tile(pcm, 50))  # 2 s: quiet and loud frames alternating
    assert sent.level(9.9) == 0.0  # not started yet
    assert sent.level(10.01) == 160 * 100**2  # only its first frame so far
    assert sent.level(11.0) == 160 * 1000**2
    sent.stop(11.0)  # cut off (barge-in)
    assert sent.level(11.4) == 160 * 1000**2  # its echo may still come
    assert sent.level(11.6) == 0.0  # forgotten


def test_our_prompt_coming_back_is_not_an_answer_but_a_callee_as_loud_is() -> None:
    """A prompt that says "say yes", heard back 20 dB down or more (echo the line did not
    cancel), starts no utterance; the callee's own "yes" over it, as loud as it, does."""
    prompt = simaudio.said("front desk")
    sent = EchoReference()
    sent.play(0.0, prompt)

    def heard(pcm: np.ndarray) -> list[Started | Utterance]:
        endpointer = Endpointer()
        out = []
        for index, frame in enumerate(pcm_frames(pcm)):
            said = endpointer.feed(frame, sent.level(index * FRAME_MS / 1000))
            if said is not None:
                out.append(said)
        return out

    silence = np.zeros(8000, np.int16)
    for loss_db in (20, 30):
        echo = (prompt.astype(np.float64) * 10 ** (-loss_db / 20)).astype(np.int16)
        assert heard(np.concatenate([silence[:400], echo, silence])) == []
    yes = simaudio.said("yes")
    answer = np.concatenate([silence[:2000], yes, silence])
    assert [type(s) for s in heard(answer)] == [Started, Utterance]
