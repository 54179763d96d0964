"""``outdial recognize``: spoken answers in audio files, as a menu would hear them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from outdial.cli.commands import emit


def words_option(text: str) -> dict[str, str]:
    """``--words "yes,no,one"``: each word or phrase stands for itself."""
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words:
        raise argparse.ArgumentTypeError("give at least one word, comma-separated")
    return {w: w for w in words}


def phrases_option(text: str) -> dict[str, str]:
    """``--phrases '{"yes": "1", "no": "2"}'``: a menu's ``speech``, phrase → key."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error.msg}") from None
    if not (isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values())):
        raise argparse.ArgumentTypeError(
            'must be a JSON object of phrase -> key, e.g. {"yes": "1"}'
        )
    return {str(k): v for k, v in value.items()}


def threshold_option(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


def cmd_recognize(args: argparse.Namespace) -> int:
    # Imported here: pocketsphinx and numpy would slow every other command's start.
    from outdial.speech.files import recognize_file
    from outdial.speech.grammar import normalise
    from outdial.speech.lexicon import unknown_words
    from outdial.speech.recognizer import Recognizer

    phrases: dict[str, str] = args.phrases or args.words
    unknown = unknown_words(w for p in phrases for w in normalise(p).split())
    if unknown:
        print(
            f"outdial recognize: not in the recogniser's dictionary: {', '.join(unknown)}",
            file=sys.stderr,
        )
        return 2
    recognizer = Recognizer(phrases, threshold=args.threshold, synonyms=not args.no_synonyms)
    unreadable = 0
    for path in args.files:
        result = recognize_file(Path(path), recognizer)
        unreadable += "error" in result
        emit(result)
    return 1 if unreadable else 0
