"""The flow commands: ``outdial flow check|schema``, ``app create|update --flow``, and a
deployment's ``--flow-url``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from outdial.audio.files import ULAW_SUFFIXES, AudioFormatError, prompt_ulaw
from outdial.audio.wav import ulaw_to_wav
from outdial.cli.commands import emit, opened_store
from outdial.errors import InvalidField
from outdial.flow.engines import missing_on_this_host, synthesizers
from outdial.flow.problems import FlowInvalid, Problem, Severity
from outdial.flow.saving import save_flow
from outdial.flow.schema import schema_json
from outdial.flow.source import format_path, parse
from outdial.flow.tts import SAMPLE_RATE, TtsError
from outdial.flow.validate import check, voice_fields
from outdial.flow.voices import all_voices, parse_voice, voice_problem
from outdial.options import parse_result_url

CLI_AUTHOR = "cli"
EXIT_INVALID = 2  # `flow check`: the flow has errors


def read_flow(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidField("flow", f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidField("flow", f"{path} is not UTF-8 text") from None


def flow_url(value: str) -> str | None:
    """``--flow-url``: an http(s) URL, or "none" to go back to the stored flow."""
    if value.strip().lower() in ("", "none"):
        return None
    try:
        return parse_result_url(value, "flow_url")
    except InvalidField as error:
        raise argparse.ArgumentTypeError(error.reason) from None


def cmd_flow_check(args: argparse.Namespace) -> int:
    """Every problem as a JSON line on stdout; exit 2 if any is an error. A voice this host
    cannot speak (its engine not installed) is a warning: the workers may be other hosts."""
    params = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    text = read_flow(args.file)
    problems = check(text, known_params=params)
    if not any(p.severity is Severity.ERROR for p in problems):
        problems += _voices_missing_here(text)
    for problem in problems:
        emit(problem.as_dict())
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        print(f"{args.file}: {len(errors)} error(s)", file=sys.stderr)
        return EXIT_INVALID
    return 0


def _voices_missing_here(text: str) -> list[Problem]:
    source = parse(text)
    if not isinstance(source.data, dict):
        return []
    found = []
    for path, voice in voice_fields(source.data):
        missing = missing_on_this_host(voice)
        if missing:
            found.append(Problem(format_path(path), missing, Severity.WARNING, source.line(path)))
    return found


def cmd_flow_voices(args: argparse.Namespace) -> int:
    """One JSON line per voice: its name, and whether this host can speak it."""
    for voice in all_voices():
        missing = missing_on_this_host(voice)
        line: dict[str, object] = {"voice": voice, "installed": missing is None}
        if missing:
            line["missing"] = missing
        emit(line)
    return 0


def cmd_flow_say(args: argparse.Namespace) -> int:
    """Speak TEXT in a voice into a WAV file (8 kHz, as a call hears it), to listen to it."""
    problem = voice_problem(args.voice)
    if problem:
        raise InvalidField("voice", problem)
    engine, voice = parse_voice(args.voice)
    started = time.perf_counter()
    try:
        audio = synthesizers()[engine].synthesize(args.text, voice)
    except TtsError as error:
        raise InvalidField("voice", str(error)) from None
    seconds = time.perf_counter() - started
    Path(args.out).write_bytes(ulaw_to_wav(audio))
    emit(
        {
            "voice": f"{engine}:{voice}",
            "file": args.out,
            "duration_s": round(len(audio) / SAMPLE_RATE, 2),
            "synthesis_s": round(seconds, 3),
        }
    )
    return 0


def cmd_flow_schema(args: argparse.Namespace) -> int:
    print(schema_json())
    return 0


def _save(args: argparse.Namespace, application_id: int) -> dict[str, object]:
    text = read_flow(args.flow)
    with opened_store(args) as store:
        try:
            version, warnings = save_flow(store, application_id, text, CLI_AUTHOR)
        except FlowInvalid as error:
            for problem in error.problems:
                emit(problem.as_dict())
            raise
    return {
        "flow_version": version.version,
        "warnings": [w.as_dict() for w in warnings],
    }


def cmd_app_create(args: argparse.Namespace) -> int:
    if args.flow:
        read_flow(args.flow)  # an unreadable file fails before the application exists
    with opened_store(args) as store:
        app = store.create_application(args.account, args.name)
    out: dict[str, object] = {
        "application_id": app.id,
        "account_id": app.account_id,
        "name": app.name,
    }
    if args.flow:
        out.update(_save(args, app.id))
    emit(out)
    return 0


def cmd_app_update(args: argparse.Namespace) -> int:
    out: dict[str, object] = {"application_id": args.app}
    out.update(_save(args, args.app))
    emit(out)
    return 0


def cmd_deployment_update(args: argparse.Namespace) -> int:
    with opened_store(args) as store:
        store.set_flow_url(args.deployment, args.flow_url)
    emit({"deployment_id": args.deployment, "flow_url": args.flow_url})
    return 0


def cmd_app_audio(args: argparse.Namespace) -> int:
    """Keep an audio prompt with the application, for ``say: {audio: NAME}`` steps."""
    path = Path(args.file)
    try:
        data = path.read_bytes()
        ulaw = prompt_ulaw(data, raw_ulaw=path.suffix.lower() in ULAW_SUFFIXES)
    except OSError as error:
        raise InvalidField("file", f"cannot read {path}: {error.strerror}") from None
    except AudioFormatError as error:
        raise InvalidField("file", f"{path}: {error}") from None
    name = args.name or path.stem
    with opened_store(args) as store:
        seconds = store.save_audio(args.app, name, ulaw)
    emit({"application_id": args.app, "audio": name, "duration_s": round(seconds, 2)})
    return 0
