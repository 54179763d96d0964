"""``outdial recognize FILE...`` as an operator runs it: one JSON line per file, in order."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from acceptance_support import run

FIELDS = {"file", "text", "key", "heard", "confidence"}


def test_recognize_prints_each_files_answer_and_reports_the_unreadable_one(tmp_path: Path) -> None:
    yes = tmp_path / "yes.wav"
    subprocess.run(["flite", "-voice", "kal", "-t", "yeah", "-o", str(yes)], check=True)
    sentence = tmp_path / "sentence.wav"
    text = "can you call back tomorrow afternoon"
    subprocess.run(["flite", "-voice", "kal", "-t", text, "-o", str(sentence)], check=True)
    quiet = tmp_path / "quiet.ul"
    quiet.write_bytes(b"\xff" * 8000)  # one second of µ-law silence
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    paths = [str(p) for p in (yes, sentence, quiet, broken, tmp_path / "missing.wav")]

    done = run("recognize", "--words", "yes,no,one,two", *paths)

    assert done.returncode == 1, done.stderr  # some files could not be read
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == paths
    said, other, silent, bad, missing = lines
    assert set(said) == set(other) == set(silent) == FIELDS
    assert (said["text"], said["key"]) == ("yes", "yes")  # "yeah" is a synonym of yes
    assert said["heard"] in {"yeah", "yep", "yup", "yes"}  # what the decoder made of it
    assert 0.7 <= said["confidence"] <= 1.0
    assert (other["text"], other["key"]) == (None, None)
    assert silent == {"file": paths[2], "text": None, "key": None, "heard": "", "confidence": 0.0}
    assert bad == {"file": paths[3], "error": "WAV file has no fmt chunk"}
    assert missing == {"file": paths[4], "error": "No such file or directory"}


def test_recognize_takes_a_menus_phrases_and_refuses_unknown_words(tmp_path: Path) -> None:
    no = tmp_path / "no.wav"
    subprocess.run(["flite", "-voice", "kal", "-t", "nope", "-o", str(no)], check=True)

    done = run("recognize", "--phrases", '{"yes": "1", "no": "2"}', str(no))
    unknown = run("recognize", "--phrases", '{"yes": "1", "zzqx": "2"}', str(no))
    not_json = run("recognize", "--phrases", "yes", str(no))

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["key"] == "2"
    assert unknown.returncode == 2
    assert "not in the recogniser's dictionary: zzqx" in unknown.stderr
    assert not_json.returncode == 2
    assert "--phrases: not JSON" in not_json.stderr


def test_recognize_help_names_the_grammar_options() -> None:
    done = run("recognize", "--help")

    assert done.returncode == 0
    for option in ("--words", "--phrases", "--threshold", "--no-synonyms"):
        assert option in done.stdout
