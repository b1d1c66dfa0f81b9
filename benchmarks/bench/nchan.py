"""nchan (nginx with the nchan module) as a reference server, installed with apt if allowed."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

from floor_server import message

from bench.host import Pinning, log
from bench.targets import HERE, Target


class Nchan(Target):
    name = "nchan"

    def __init__(self, pin: Pinning, workdir: Path, nginx: str, module: str) -> None:
        super().__init__(pin, workdir)
        self.nginx = nginx
        self.module = module
        self.prefix = workdir / "nchan"

    def command(self) -> list[str]:
        if self.prefix.exists():
            shutil.rmtree(self.prefix)
        self.prefix.mkdir()
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        config = (
            (HERE / "nchan.conf")
            .read_text()
            .format(
                module=self.module,
                prefix=self.prefix,
                port=self.port,
                nofile=hard,
                connections=max(1024, hard - 100),
            )
        )
        (self.prefix / "nginx.conf").write_text(config)
        return [
            self.nginx,
            "-p",
            str(self.prefix),
            "-e",
            str(self.prefix / "error.log"),
            "-c",
            str(self.prefix / "nginx.conf"),
        ]

    def log_tail(self, lines: int = 30) -> str:
        text = super().log_tail(lines)
        error_log = self.prefix / "error.log"
        if error_log.exists():
            text += "\n" + "\n".join(error_log.read_text(errors="replace").splitlines()[-lines:])
        return text

    @property
    def stats_pid(self) -> int:
        """The one worker process, which holds the connections (the master only supervises)."""
        assert self.process is not None
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if not children:
            raise RuntimeError("nginx has no worker process")
        return int(children[0])

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        await super().stop()

    def ws_path(self) -> str:
        return "/sub"

    def sse_path(self) -> str:
        return "/sub"

    async def publish(self, update: int) -> int:
        assert self.http is not None
        sent = time.time_ns()
        response = await self.http.post("/pub", content=message(update, sent).encode())
        response.raise_for_status()
        return sent


def find_nchan(install: bool) -> tuple[str, str] | str:
    """(nginx binary, nchan module path), installing them with apt-get when missing and
    allowed; otherwise the reason nchan is skipped."""
    found = _nchan_paths()
    if isinstance(found, tuple) or not install:
        return found
    if shutil.which("apt-get") is None:
        return f"{found}; no apt-get here: install nginx and the nchan module by hand"
    if os.geteuid() != 0:
        return f"{found}; run `sudo apt-get install -y nginx-light libnginx-mod-nchan`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def candidate() -> bool:
        policy = subprocess.run(
            ["apt-cache", "policy", "libnginx-mod-nchan"], capture_output=True, text=True
        ).stdout
        return "Candidate:" in policy and "Candidate: (none)" not in policy

    if not candidate():
        log("nchan: apt-get update (no candidate for libnginx-mod-nchan yet)")
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        if not candidate():
            return "libnginx-mod-nchan is not available from this machine's package sources"
    log("nchan: apt-get install -y nginx-light libnginx-mod-nchan")
    result = subprocess.run(
        ["apt-get", "install", "-y", "nginx-light", "libnginx-mod-nchan"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        return f"apt-get install failed: {result.stderr.strip().splitlines()[-1:]}"
    return _nchan_paths()


def _nchan_paths() -> tuple[str, str] | str:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        return "nginx is not installed"
    listing = subprocess.run(
        ["dpkg", "-L", "libnginx-mod-nchan"], capture_output=True, text=True
    ).stdout
    modules = [line for line in listing.splitlines() if line.endswith("nchan_module.so")]
    if not modules:
        return "the nchan module (libnginx-mod-nchan) is not installed"
    return nginx, modules[0]
