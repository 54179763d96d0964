"""sipp (Debian's ``sip-tester``) as the far end of real SIP calls on 127.0.0.1.

Each test starts its own sipp on ports of its own, bounded by ``-timeout``, and the fixture
kills it (by its pid) if it is still running at the end. Without sipp the tests are skipped,
except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flow_support import Capture
from sip_support import SCENARIOS, SIPP_TIMEOUT, Sipp, free_block, wait_bound


@pytest.fixture
def sipp(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    if shutil.which("sipp") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("sipp is not installed: run scripts/system-deps (package sip-tester)")
        pytest.skip("sipp is not installed (Debian package sip-tester)")
    started: list[Sipp] = []

    def start(scenario: str, *, echo: bool = False, tcp: bool = False, **values: object) -> Sipp:
        """Run ``scenario`` once, each ``[name]`` in its XML replaced by ``values[name]``
        first (sipp reads pauses and rtp_stream files before ``-key`` values apply)."""
        text = (SCENARIOS / scenario).read_text()
        for name, value in values.items():
            text = text.replace(f"[{name}]", str(value))
        scenario_file = tmp_path / f"{len(started)}-{scenario}"
        scenario_file.write_text(text)
        base = free_block(24)  # SIP, then media ports from -mp up (echo, rtp_stream), control
        port, media, control = base, base + 2, base + 22
        log = tmp_path / f"sipp-{len(started)}.log"
        args = [
            "sipp", "-sf", str(scenario_file), "-i", "127.0.0.1", "-p", str(port),
            "-mp", str(media), "-cp", str(control), "-m", "1", "-timeout", f"{SIPP_TIMEOUT}s",
            "-timeout_error", "-nostdin", "-trace_err", "-trace_msg",
            "-message_file", str(tmp_path / f"sipp-{len(started)}-messages.log"),
            "-error_file", str(tmp_path / f"sipp-{len(started)}-errors.log"),
        ]  # fmt: skip
        if echo:
            args.append("-rtp_echo")
        if tcp:
            args += ["-t", "t1"]
        with log.open("wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
        proc = Sipp(process, port, log)
        started.append(proc)
        wait_bound(port, process, tcp=tcp)
        return proc

    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(5)


KAMAILIO_CONFIG = Path(__file__).parent / "kamailio" / "proxy.cfg"
KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """``kamailio(sipp_port, username=, password=)``: an authenticating proxy (407) in front
    of sipp; returns its SIP port. ``config=`` another configuration in ``kamailio/``, its
    ``[name]`` placeholders filled from the keyword arguments. Stopped (by its pid) at the end
    of the test."""
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    if not Path(binary).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("kamailio is not installed: run scripts/system-deps")
        pytest.skip("kamailio is not installed (Debian package kamailio)")
    started: list[subprocess.Popen[bytes]] = []

    def start(sipp_port: int, *, config: Path = KAMAILIO_CONFIG, **settings: object) -> int:
        port = free_block(2)
        text = config.read_text()
        values = {
            "listen_port": port,
            "sipp_port": sipp_port,
            "modules": KAMAILIO_MODULES,
            **settings,
        }
        for name, value in values.items():
            text = text.replace(f"[{name}]", str(value))
        config = tmp_path / f"kamailio-{len(started)}.cfg"
        config.write_text(text)
        runtime = tmp_path / f"kamailio-{len(started)}-run"
        runtime.mkdir()
        log = (tmp_path / f"kamailio-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [binary, "-f", str(config), "-DD", "-E", "-Y", str(runtime), "-P",
             str(runtime / "kamailio.pid")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        started.append(process)
        wait_bound(port, process)
        return port

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[Callable[..., Capture]]:
    """``capture(*port_ranges)``: tcpdump on loopback, of UDP to or from those ports (each
    ``(low, high)``, inclusive), from now until ``.stop()`` reads it: an independent record of
    the RTP on the wire, not outdial's. Never skipped: without tcpdump (Debian package
    ``tcpdump``, installed by scripts/system-deps) or the right to capture, the test fails."""
    started: list[Capture] = []

    def start(*ports: tuple[int, int]) -> Capture:
        if shutil.which("tcpdump") is None:
            pytest.fail("tcpdump is not installed: run scripts/system-deps (package tcpdump)")
        capture = Capture.start(tmp_path / f"capture-{len(started)}.pcap", ports)
        started.append(capture)
        return capture

    yield start
    for capture in started:
        capture.close()
