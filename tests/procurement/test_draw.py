"""The verifiable draw (procurement/draw.py) and its standalone verifier: same inputs, same
result; any edited input, a failure. The verifier runs in a bare interpreter (``python -I``,
no site-packages): it needs nothing but the standard library."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from procurement import draw

DRAW_PY = Path(draw.__file__)
SECRET = "11" * 32
POOL = [
    {"id": 42, "uscc": "91530102MA6K000001"},
    {"id": 7, "uscc": "91530100MA6K00000X"},
    {"id": 19, "uscc": "91530300MA6K000002"},
    {"id": 3, "uscc": "91530400MA6K000003"},
    {"id": 28, "uscc": "91530500MA6K000004"},
]


def make(**overrides) -> dict:
    args = {
        "announcement": "YN-2026-0001",
        "secret_hex": SECRET,
        "pool": POOL,
        "selected_count": 1,
        "alternate_count": 2,
    }
    args.update(overrides)
    return draw.run(**args).as_record()


def verify_cli(record: dict, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", str(DRAW_PY), "verify", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_draw_follows_design_section_6():
    record = make()
    assert record["commitment"] == hashlib.sha256(bytes.fromhex(SECRET)).hexdigest()
    assert [p["id"] for p in record["pool"]] == [3, 7, 19, 28, 42]
    canonical = json.dumps(record["pool"], separators=(",", ":"), sort_keys=True).encode()
    assert record["pool_hash"] == hashlib.sha256(canonical).hexdigest()
    ranks = [r["rank"] for r in record["ranking"]]
    assert ranks == sorted(ranks)
    order = [r["id"] for r in record["ranking"]]
    assert record["selected"] == order[:1] and record["alternates"] == order[1:3]
    assert sorted(order) == [3, 7, 19, 28, 42]


def test_same_inputs_same_result_whatever_the_pool_order():
    assert make() == make(pool=list(reversed(POOL)))


def test_each_input_changes_the_result():
    base = make()
    for changed in (
        make(secret_hex="12" * 32),
        make(announcement="YN-2026-0002"),
        make(beacon={"source": "drand", "round": 1, "value": "ab" * 32}),
        make(pool=[*POOL, {"id": 99, "uscc": "91530600MA6K000005"}]),
    ):
        assert changed["seed"] != base["seed"]


def test_no_modulo_bias_every_agency_can_win_about_equally():
    wins = Counter(
        make(secret_hex=hashlib.sha256(str(n).encode()).hexdigest())["selected"][0]
        for n in range(2000)
    )
    assert set(wins) == {3, 7, 19, 28, 42}
    # 400 expected each; a 5-sigma band (σ ≈ 17.9) still catches a bias of a few percent.
    assert all(310 < count < 490 for count in wins.values()), wins


def test_the_standalone_verifier_accepts_a_true_record(tmp_path):
    result = verify_cli(make(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: draw YN-2026-0001 verified")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.update(secret="22" * 32), "commitment"),
        (lambda r: r.update(commitment="00" * 32), "commitment"),
        (lambda r: r["pool"].append({"id": 99, "uscc": "X"}), "pool hash"),
        (lambda r: r["pool"][0].update(uscc="91530400MA6K000009"), "pool hash"),
        (lambda r: r.update(selected=r["alternates"][:1]), "selected"),
        (lambda r: r.update(alternates=list(reversed(r["alternates"]))), "alternates"),
        (lambda r: r["ranking"].reverse(), "ranking"),
        (lambda r: r.update(announcement="YN-2026-0009"), "seed"),
        (lambda r: r["beacon"].update(value="ab" * 32), "seed"),
        (lambda r: r.update(alternate_count=1), "alternates"),
    ],
)
def test_the_verifier_fails_on_any_edited_input(tmp_path, edit, message):
    record = copy.deepcopy(make())
    edit(record)
    result = verify_cli(record, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "MISMATCH" in result.stdout and message in result.stdout


def test_the_verifier_says_when_it_cannot_read_the_record(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-I", str(DRAW_PY), "verify", str(broken)],
        check=False, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "cannot read" in result.stderr
    record = make()
    del record["secret"]
    assert verify_cli(record, tmp_path).returncode == 2


def test_bad_draw_parameters_are_refused():
    with pytest.raises(ValueError, match="smaller than"):
        make(selected_count=6)
    with pytest.raises(ValueError, match="twice"):
        make(pool=[*POOL, POOL[0]])
    with pytest.raises(ValueError, match="at least one"):
        make(selected_count=0)


def test_the_module_imports_nothing_but_the_standard_library():
    source = DRAW_PY.read_text(encoding="utf-8")
    imports = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imports <= {"__future__", "hashlib", "json", "secrets", "sys", "dataclasses"}, imports
