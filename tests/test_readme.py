"""The README tells the truth: its two opening lines work on a fresh clone, and it lists every
setting.

The two lines are the README's first two fenced code blocks, one line each. The first ends in
`serve --demo`, so appending `--port N` moves the server to a free port; the second ends in
`pytest`, so appending `--collect-only -q` installs and collects the suite instead of running it
inside itself. The clone holds what is committed, which is what CI sees.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from liveblog.demo import SLUG
from liveblog.settings import SETTINGS
from tests.support import free_port

# Among the longest modules: started first, so parallel workers finish together.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
DEMO_TITLE = "Storm Ada makes landfall"
DEMO_URL = f"http://127.0.0.1:8000/stories/{SLUG}"
INSTALL_SECONDS = 600


def readme_lines(readme: str) -> tuple[str, str]:
    """The serve line and the test line: the README's first two code blocks."""
    blocks = [block.strip() for block in FENCE.findall(readme)[:2]]
    assert len(blocks) == 2, "README.md must open with two code blocks"
    assert all("\n" not in block for block in blocks), f"each must be one line: {blocks}"
    serve, test = blocks
    assert serve.endswith(" serve --demo"), f"the first line must end in 'serve --demo': {serve}"
    assert test.endswith("pytest"), f"the second line must end in 'pytest': {test}"
    return serve, test


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in readme]
    assert not missing, f"README.md's configuration table lacks {missing}"


def test_ci_runs_the_readme_test_line() -> None:
    _, test = readme_lines((ROOT / "README.md").read_text())
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert any(line.startswith(test + " ||") or line == test for line in ci_lines), test


@pytest.mark.timeout(2 * INSTALL_SECONDS + 120)
def test_readme_lines_work_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = _clone_committed_state(tmp_path / "clone")
    readme = (clone / "README.md").read_text()
    assert DEMO_URL in readme
    serve, test = readme_lines(readme)
    env = _fresh_shell_environment()
    _serve_demo(f"{serve} --port {free_port()}", clone, env, tmp_path / "serve.log")
    _collect_suite(f"{test} --collect-only -q", clone, env)


def _clone_committed_state(into: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    top = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=ROOT, capture_output=True, text=True
    )
    if top.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout")
    subprocess.run(["git", "clone", "--quiet", top.stdout.strip(), str(into)], check=True)
    return into


def _fresh_shell_environment() -> dict[str, str]:
    """This environment minus our virtualenv and LIVEBLOG_* settings, like a newcomer's shell."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LIVEBLOG_", "PYTHON")) and key != "VIRTUAL_ENV"
    }
    if sys.prefix != sys.base_prefix:
        ours = str(Path(sys.prefix) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
    return env


def _serve_demo(line: str, clone: Path, env: dict[str, str], log_path: Path) -> None:
    port = int(line.rsplit(" ", 1)[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bash", "-c", line],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page = _wait_for_demo(process, f"http://127.0.0.1:{port}", log_path)
    finally:
        _stop_group(process)
    assert DEMO_TITLE in page
    assert "created the first admin: name 'admin', password" in log_path.read_text()


def _wait_for_demo(process: subprocess.Popen[bytes], url: str, log_path: Path) -> str:
    """The demo story's page, once the install is done and the server answers."""
    deadline = time.monotonic() + INSTALL_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the first README line exited early:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                page = httpx.get(f"{url}/stories/{SLUG}", timeout=10)
                assert page.status_code == 200, page.text
                return page.text
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the demo did not answer within {INSTALL_SECONDS}s:\n{_tail(log_path)}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the shell and the server it started, which share a process group, and wait."""
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        process.poll()  # reap the shell, so only live processes keep the group
        if not _signal_group(process.pid, 0):
            return
        time.sleep(0.1)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, number: int) -> bool:
    try:
        os.killpg(group, number)
    except ProcessLookupError:
        return False
    return True


def _collect_suite(line: str, clone: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", "-c", line],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"the second README line failed:\n{output[-4000:]}"
    assert re.search(r"^\d+ tests? collected", result.stdout, re.MULTILINE), output[-4000:]


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:]
