"""Anyone can check a draw: download draw.json and verifier.py from the public pages and run
``python3 verifier.py verify draw.json`` in a bare interpreter (``-I -S``: no site-packages,
so no Django; the working directory is a temporary one, away from the project). The record as
published verifies (exit 0); any edited field fails (exit 1) and the mismatch is printed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.procurement import public_scene

pytestmark = pytest.mark.django_db

# The module's scene (built once, see public_scene).
scene = public_scene.scene

BARE = [sys.executable, "-I", "-S"]


@pytest.fixture
def downloaded(client, scene, tmp_path):
    """verifier.py and draw.json written to tmp_path, as a visitor would save them."""
    verifier = client.get("/procurement/verifier.py")
    record = client.get(f"/procurement/{scene.done.code}/draw.json")
    assert verifier.status_code == record.status_code == 200
    (tmp_path / "verifier.py").write_bytes(verifier.content)
    (tmp_path / "draw.json").write_bytes(record.content)
    return tmp_path


def run_verifier(directory) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BARE, "verifier.py", "verify", "draw.json"],
        cwd=directory,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"},
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def edit(directory, change) -> None:
    path = directory / "draw.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")


def test_the_bare_interpreter_has_no_django(tmp_path):
    found = subprocess.run(
        [*BARE, "-c", "import django"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert found.returncode != 0 and "ModuleNotFoundError" in found.stderr


def test_the_published_draw_verifies(downloaded, scene):
    result = run_verifier(downloaded)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: draw {scene.done.code} verified")


def _flip(hex_text: str) -> str:
    return ("0" if hex_text[0] != "0" else "1") + hex_text[1:]


@pytest.mark.parametrize(
    ("change", "mismatch"),
    [
        (
            lambda r: r["ranking"][1].update(rank=_flip(r["ranking"][1]["rank"])),
            "the ranking is not what the inputs give",
        ),
        (
            lambda r: r.update(secret=_flip(r["secret"])),
            "the secret does not match the commitment published before the draw",
        ),
        (
            lambda r: r["pool"][0].update(uscc="91530100MA6K99999X"),
            "the pool does not match the pool hash published at closing",
        ),
        (
            lambda r: r.update(selected=[r["alternates"][0]]),
            "the selected is not what the inputs give",
        ),
    ],
    ids=["a-rank", "the-secret", "a-pool-entry", "the-selected-list"],
)
def test_an_edited_field_fails_with_the_mismatch_printed(downloaded, change, mismatch):
    edit(downloaded, change)
    result = run_verifier(downloaded)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"MISMATCH: {mismatch}" in result.stdout
