"""Fixtures for the real-browser tests: a private JupyterLab server and headless Chromium.

The server runs from this environment (``sys.executable -m jupyterlab``) on 127.0.0.1 with no
token and no password, on a temporary COPY of notebooks/ (outputs cleared, so everything the page
shows was computed in this run), with temporary settings, workspaces, runtime, config and data
directories, so a browser run never touches the stored lessons or the user's own Jupyter set-up.
The browser is Debian's Chromium; without it the tests skip (and fail when CI=true, where they
must run).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.ci import skip_or_fail

from .lab import REDRAW_TIMES, REPO, LabServer, notebooks_dir

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ENABLE_HINT = (
    "browser tests need Chromium at /usr/bin/chromium; enable them with `apt-get install chromium`"
)
SERVER_START_TIMEOUT_S = 120.0

# Settings the lab starts with: every cell stays in the page (no virtual scrolling), and no
# news or update checks reach out to the network.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _clear_outputs(notebook: Path) -> None:
    """Drop stored outputs and execution counts, so whatever the page shows later ran here."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, notebook)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server (it shuts its kernels down), then kill whatever of its group is left."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    # The server runs in a process group of its own: end any kernel it left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _log_tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server on a temporary copy of the lessons; stopped at the end, always."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(notebooks_dir(), root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for notebook in root.glob("*.ipynb"):
        _clear_outputs(notebook)
    dirs = {
        name: base / name
        for name in ("settings", "workspaces", "runtime", "config", "jupyter_data")
    }
    for path in dirs.values():
        path.mkdir()
    # Lessons that read ../data find the repository's own files, as in the checkout.
    if (REPO / "data").is_dir():
        (base / "data").symlink_to(REPO / "data", target_is_directory=True)
    for relative, values in LAB_SETTINGS.items():
        target = dirs["settings"] / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))

    env = os.environ.copy()
    env.pop("MPLBACKEND", None)  # the kernel must use the inline backend to show figures
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["jupyter_data"]),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,  # this environment's JupyterLab, whatever `jupyter` is on PATH
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.token=",
        "--IdentityProvider.token=",
        "--PasswordIdentityProvider.hashed_password=",
        "--PasswordIdentityProvider.password_required=False",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    log = base / "jupyterlab.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _status_ok(url):
            if process.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with code {process.returncode}:\n{_log_tail(log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer {url}/api/status within "
                    f"{SERVER_START_TIMEOUT_S:.0f} s:\n{_log_tail(log)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield LabServer(url=url, root=root, log=log)
    finally:
        _stop(process)


def shutdown_kernels(server: LabServer) -> None:
    """Delete every session (and so its kernel) the server holds."""
    try:
        with urllib.request.urlopen(f"{server.url}/api/sessions", timeout=10) as response:
            sessions = json.load(response)
        for session in sessions:
            request = urllib.request.Request(
                f"{server.url}/api/sessions/{session['id']}", method="DELETE"
            )
            urllib.request.urlopen(request, timeout=30).close()
    except (urllib.error.URLError, OSError):
        pass  # the server is going away anyway


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright; skips (fails under CI) without it."""
    if not CHROMIUM.exists():
        skip_or_fail(ENABLE_HINT)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("browser tests need the playwright package: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab_page(browser: object, lab_server: LabServer) -> Iterator[object]:
    """A fresh browser page on the lab; its kernels are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        shutdown_kernels(lab_server)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = REPO / "build" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each explorer's redraw time per move, median and largest, after the browser tests."""
    if not REDRAW_TIMES:
        return
    terminalreporter.section("explorer redraw time per move")
    for explorer, times in REDRAW_TIMES.items():
        if times:
            terminalreporter.write_line(
                f"{explorer}: {len(times)} moves, median {statistics.median(times):.2f} s, "
                f"max {max(times):.2f} s"
            )
