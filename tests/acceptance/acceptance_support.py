"""Driving the installed ``outdial`` command and a server it started, as an operator would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

OUTDIAL = Path(sys.executable).parent / "outdial"  # the console script of this environment
COMMAND_TIMEOUT = 60  # seconds a CLI command may take
SERVER_START_TIMEOUT = 60  # seconds until /healthz answers
SERVER_STOP_TIMEOUT = 15  # seconds between SIGTERM and SIGKILL


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without OUTDIAL_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTDIAL_")}
    env.update(extra)
    return env


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``outdial *args`` to completion; the caller checks the outcome."""
    return subprocess.run(
        [str(OUTDIAL), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env=env if env is not None else clean_environment(),
        cwd=cwd,
        check=False,
    )


def run_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command that must succeed and print one JSON object."""
    done = run(*args, env=env)
    assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Tenant:
    """What ``account create``, ``app create`` and ``deployment create`` printed."""

    email: str
    key: str
    app_id: int
    dep_id: int

    @property
    def auth(self) -> tuple[str, str]:
        return (self.email, self.key)

    @property
    def base(self) -> str:
        return f"/api/apps/{self.app_id}/{self.dep_id}"


def create_tenant(database_url: str, email: str) -> Tenant:
    account = run_json("account", "create", "--database-url", database_url, "--email", email)
    app = run_json(
        "app", "create", "--database-url", database_url, "--account", email, "--name", "Reminders"
    )
    deployment = run_json(
        "deployment",
        "create",
        "--database-url",
        database_url,
        "--app",
        str(app["application_id"]),
        "--caller-id",
        "+18005550100",
    )
    assert deployment["application_id"] == app["application_id"]
    assert deployment["queue_url"] == (
        f"/api/apps/{app['application_id']}/{deployment['deployment_id']}/queue"
    )
    return Tenant(
        account["email"],
        account["developer_key"],
        app["application_id"],
        deployment["deployment_id"],
    )


class Server:
    """``outdial serve`` in a subprocess; ``stop()`` always ends it."""

    def __init__(self, database_url: str, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(OUTDIAL),
                "serve",
                "--database-url",
                database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=clean_environment(),
            cwd=workdir,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"outdial serve exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                response = httpx.get(self.url + "/healthz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 200 and response.json() == {"status": "ok"}:
                return
            time.sleep(0.1)
        raise AssertionError(f"outdial serve did not become healthy:\n{self.log()}")

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(SERVER_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(SERVER_STOP_TIMEOUT)
        finally:
            self._log.close()
