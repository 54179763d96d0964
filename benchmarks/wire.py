"""The wire, read independently of outdial: tcpdump on loopback, and the pcap, IPv4, UDP and
RTP headers and G.711 µ-law decoded here, sharing no code with outdial. The SIP tests of call
flows and ``benchmarks/flow.py`` check outdial's RTP with it, not outdial's account of it.
"""

from __future__ import annotations

import math
import os
import signal
import struct
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 8000  # samples per second
PCMU = 0  # RTP payload type of G.711 µ-law
CAPTURE_READY_S = 5.0  # seconds tcpdump has to start listening
SPEECH_RMS = 100.0  # a packet louder than this (16-bit scale) carries speech, not quiet

Pcm = npt.NDArray[np.int16]


def _ulaw_table() -> npt.NDArray[np.int16]:
    """G.711 µ-law to 16-bit linear (ITU-T G.711 §A.2), written out, not outdial's codec."""
    table = np.zeros(256, np.int16)
    for code in range(256):
        u = ~code & 0xFF
        magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
        table[code] = -(magnitude - 0x84) if u & 0x80 else magnitude - 0x84
    return table


ULAW = _ulaw_table()


def ulaw_encode(samples: Pcm) -> bytes:
    """16-bit linear to µ-law (G.711's segment encoding), for the callee's audio files."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return bytes((~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8))


# -- the capture ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Datagram:
    at: float  # seconds, the capture's clock
    src: int  # UDP ports
    dst: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Rtp:
    at: float
    src: int
    dst: int
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    payload: bytes

    @property
    def samples(self) -> Pcm:
        return ULAW[np.frombuffer(self.payload, np.uint8)]

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(self.samples.astype(np.float64) ** 2)))

    def share(self, freq: float) -> float:
        """The fraction of the packet's energy at ``freq`` (Goertzel, exact frequency)."""
        x = self.samples.astype(np.float64)
        total = float(np.sum(x**2))
        if total == 0.0:
            return 0.0
        w = 2 * math.pi * freq / RATE
        n = np.arange(len(x))
        power = abs(np.sum(x * np.exp(-1j * w * n))) ** 2
        return float(2 * power / len(x) / total)


def read_pcap(path: Path) -> list[Datagram]:
    """The UDP datagrams over IPv4 in a pcap file (Ethernet or Linux cooked capture)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path} is not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    (linktype,) = struct.unpack_from(endian + "I", data, 20)
    link_header = {1: 14, 113: 16}.get(linktype)
    if link_header is None:
        raise ValueError(f"{path}: link type {linktype} is not Ethernet or Linux cooked")
    record = struct.Struct(endian + "IIII")
    out: list[Datagram] = []
    offset = 24
    while offset + record.size <= len(data):
        seconds, fraction, length, _ = record.unpack_from(data, offset)
        offset += record.size
        frame = data[offset : offset + length]
        offset += length
        ip = frame[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:  # IPv4 carrying UDP only
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        src, dst, udp_length = struct.unpack_from("!HHH", udp)
        at = seconds + fraction / (1e9 if nano else 1e6)
        out.append(Datagram(at, src, dst, bytes(udp[8:udp_length])))
    return out


def parse_rtp(datagram: Datagram) -> Rtp | None:
    """RFC 3550 §5.1, read here: None for what is not RTP (SIP, RTCP)."""
    data = datagram.data
    if len(data) < 12 or data[0] >> 6 != 2 or 72 <= data[1] & 0x7F <= 76:
        return None
    csrcs = data[0] & 0x0F
    start = 12 + 4 * csrcs
    if data[0] & 0x10:  # a header extension
        (words,) = struct.unpack_from("!H", data, start + 2)
        start += 4 + 4 * words
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)
    sequence, timestamp = struct.unpack_from("!HI", data, 2)
    return Rtp(
        datagram.at,
        datagram.src,
        datagram.dst,
        data[1] & 0x7F,
        bool(data[1] & 0x80),
        sequence,
        timestamp,
        data[start:end],
    )


class Capture:
    """tcpdump writing the UDP of some ports on loopback to a pcap file."""

    def __init__(self, path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
        self.path = path
        self.process = process
        self.log = log

    @classmethod
    def start(cls, path: Path, ports: Sequence[tuple[int, int]]) -> Capture:
        ranges = " or ".join(f"portrange {low}-{high}" for low, high in ports)
        log = path.with_suffix(".log")
        # -U: each packet written as it comes; -Z root: keep the right to write in tmp_path
        argv = ["tcpdump", "-i", "lo", "-n", "-U", "-Z", "root", "-w", str(path)]
        argv.append(f"udp and ({ranges})" if ranges else "udp")
        with log.open("wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        capture = cls(path, process, log)
        deadline = time.monotonic() + CAPTURE_READY_S
        while "listening on" not in capture.output():
            if process.poll() is not None or time.monotonic() > deadline:
                capture.close()
                raise RuntimeError(f"tcpdump did not start: {capture.output()}")
            time.sleep(0.02)
        return capture

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> list[Rtp]:
        """End the capture; the RTP packets it holds, in capture order."""
        self.close()
        packets = (parse_rtp(d) for d in read_pcap(self.path))
        return [p for p in packets if p is not None]

    def close(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)  # tcpdump flushes and exits
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


# -- reading it -------------------------------------------------------------------------------


def between(packets: Iterable[Rtp], *, src: int | None = None, dst: int | None = None) -> list[Rtp]:
    return [p for p in packets if (src is None or p.src == src) and (dst is None or p.dst == dst)]


def audio(packets: Iterable[Rtp]) -> list[Rtp]:
    return [p for p in packets if p.payload_type == PCMU]


def speech(packets: Iterable[Rtp], threshold: float = SPEECH_RMS) -> list[Rtp]:
    return [p for p in audio(packets) if p.rms > threshold]


def tone_packets(packets: Iterable[Rtp], freq: float, share: float = 0.8) -> list[Rtp]:
    """Audio packets whose energy is mostly at ``freq``."""
    return [p for p in audio(packets) if p.rms > SPEECH_RMS and p.share(freq) > share]


def dominant_frequency(packets: Sequence[Rtp]) -> float:
    samples = np.concatenate([p.samples for p in packets]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])
