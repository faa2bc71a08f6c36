#!/usr/bin/env python3
"""The verifiable random draw (随机抽取), DESIGN §6 — and its standalone verifier.

This file is pure Python (standard library only, no Django, no project import): the platform
computes draws with it, and anyone can download this one file and check a published draw
record with it:

    python3 draw.py verify record.json      # exit 0: the draw is what its inputs give
                                            # exit 1: a mismatch (each one is printed)
                                            # exit 2: the record cannot be read

How a draw is fixed before anyone can know its result:

1. At publication the platform draws a 32-byte secret and publishes ``commitment =
   SHA-256(secret)`` with the draw time (and, optionally, which public beacon round will be
   mixed in).
2. When registration closes, the eligible pool is frozen: the agencies as (id, USCC), sorted by
   id, serialised canonically (``pool_bytes``), and ``pool_hash = SHA-256(pool_bytes)`` is
   published.
3. At the draw the secret is revealed and
   ``seed = SHA-256("mp-draw-v1" | secret | beacon | pool_hash | announcement code)``, where
   ``|`` is a 4-byte big-endian length before each field (no two inputs encode alike). Each
   agency's rank is ``SHA-256(seed | agency id)``; the lowest ranks are selected, the next are
   alternates. There is no modulo (no bias) and no database RANDOM().

With a drand beacon (``beacon.source == "drand-quicknet"``) the round's BLS signature is checked
too when the ``drand-verify`` package is installed (``pip install drand-verify``); without it
the verifier says the round was taken as recorded.

Changing the secret breaks the commitment; changing the pool breaks the pool hash published
before the secret was known; the operator cannot rerun the draw for another result.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
from dataclasses import dataclass, field

VERSION = 1
DOMAIN = b"mp-draw-v1"


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def new_secret() -> str:
    """A fresh secret, as 64 hex characters."""
    return secrets.token_hex(32)


def commitment(secret_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(secret_hex)).hexdigest()


def canonical_pool(pool) -> list[dict]:
    """The pool as published: ``[{"id": int, "uscc": str}, …]`` sorted by id, ids unique."""
    entries = sorted(
        ({"id": int(p["id"]), "uscc": str(p["uscc"])} for p in pool), key=lambda p: p["id"]
    )
    ids = [p["id"] for p in entries]
    if len(set(ids)) != len(ids):
        raise ValueError("an agency appears twice in the pool")
    return entries


def pool_bytes(pool) -> bytes:
    return json.dumps(
        canonical_pool(pool), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


def pool_hash(pool) -> str:
    return hashlib.sha256(pool_bytes(pool)).hexdigest()


def seed(*, secret_hex: str, beacon_hex: str, pool_hash_hex: str, announcement: str) -> str:
    parts = (
        DOMAIN,
        bytes.fromhex(secret_hex),
        bytes.fromhex(beacon_hex),
        bytes.fromhex(pool_hash_hex),
        announcement.encode("utf-8"),
    )
    return hashlib.sha256(b"".join(_field(p) for p in parts)).hexdigest()


def rank(seed_hex: str, agency_id: int) -> str:
    return hashlib.sha256(
        _field(bytes.fromhex(seed_hex)) + _field(str(int(agency_id)).encode("ascii"))
    ).hexdigest()


@dataclass
class Draw:
    announcement: str
    commitment: str
    secret: str
    beacon: dict
    pool: list[dict]
    pool_hash: str
    seed: str
    selected_count: int
    alternate_count: int
    ranking: list[dict] = field(default_factory=list)
    selected: list[int] = field(default_factory=list)
    alternates: list[int] = field(default_factory=list)

    def as_record(self) -> dict:
        return {"version": VERSION, **self.__dict__}


def run(
    *,
    announcement: str,
    secret_hex: str,
    pool,
    selected_count: int,
    alternate_count: int,
    beacon: dict | None = None,
) -> Draw:
    """Computes a draw. ``beacon`` is ``{"source": …, "round": …, "value": hex}`` or None."""
    if selected_count < 1 or alternate_count < 0:
        raise ValueError("at least one agency is selected; alternates cannot be negative")
    beacon = dict(beacon or {"source": "none", "round": None, "value": ""})
    entries = canonical_pool(pool)
    if len(entries) < selected_count:
        raise ValueError("the pool is smaller than the number of agencies to select")
    p_hash = pool_hash(entries)
    s = seed(
        secret_hex=secret_hex,
        beacon_hex=beacon.get("value") or "",
        pool_hash_hex=p_hash,
        announcement=announcement,
    )
    ranking = sorted(
        ({"id": e["id"], "uscc": e["uscc"], "rank": rank(s, e["id"])} for e in entries),
        key=lambda r: (r["rank"], r["id"]),
    )
    order = [r["id"] for r in ranking]
    return Draw(
        announcement=announcement,
        commitment=commitment(secret_hex),
        secret=secret_hex,
        beacon=beacon,
        pool=entries,
        pool_hash=p_hash,
        seed=s,
        selected_count=selected_count,
        alternate_count=alternate_count,
        ranking=ranking,
        selected=order[:selected_count],
        alternates=order[selected_count : selected_count + alternate_count],
    )


def verify(record: dict) -> list[str]:
    """Every way ``record`` differs from what its inputs give; empty when it checks out."""
    problems: list[str] = []
    if record.get("version") != VERSION:
        return [f"unknown record version {record.get('version')!r} (this verifier: {VERSION})"]
    secret_hex = record["secret"]
    if commitment(secret_hex) != record["commitment"]:
        problems.append("the secret does not match the commitment published before the draw")
    if pool_hash(record["pool"]) != record["pool_hash"]:
        problems.append("the pool does not match the pool hash published at closing")
    if canonical_pool(record["pool"]) != record["pool"]:
        problems.append("the pool is not in canonical form (sorted by id, id and uscc only)")
    again = run(
        announcement=record["announcement"],
        secret_hex=secret_hex,
        pool=record["pool"],
        selected_count=int(record["selected_count"]),
        alternate_count=int(record["alternate_count"]),
        beacon=record.get("beacon"),
    )
    for name in ("seed", "ranking", "selected", "alternates"):
        if getattr(again, name) != record.get(name):
            problems.append(f"the {name} is not what the inputs give")
    problems.extend(beacon_problems(record.get("beacon") or {}))
    return problems


DRAND_QUICKNET = "drand-quicknet"


def beacon_problems(beacon: dict) -> list[str]:
    """A drand round's value is checked against the round's BLS signature and the League of
    Entropy's public key when ``drand-verify`` (PyPI) is installed; without it the value is
    taken as recorded and ``beacon_note`` says so. Other sources carry no proof to check."""
    if beacon.get("source") != DRAND_QUICKNET:
        return []
    try:
        import drand_verify
    except ImportError:
        return []
    try:
        randomness = drand_verify.verify_quicknet(int(beacon["round"]), beacon["signature"])
    except (ValueError, KeyError, TypeError):
        return [
            f"the beacon signature does not verify for drand quicknet round {beacon.get('round')}"
        ]
    if randomness != beacon.get("value"):
        return [f"the beacon value is not the randomness of drand quicknet round {beacon['round']}"]
    return []


def beacon_note(beacon: dict) -> str:
    if beacon.get("source") != DRAND_QUICKNET:
        return ""
    try:
        import drand_verify  # noqa: F401
    except ImportError:
        return (
            f"note: the drand round {beacon.get('round')} was taken as recorded; "
            "`pip install drand-verify` to check its signature too"
        )
    return f"drand quicknet round {beacon.get('round')}: signature verified"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "verify":
        print("usage: draw.py verify RECORD.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as fh:
            record = json.load(fh)
        problems = verify(record)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"cannot read the draw record: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"MISMATCH: {problem}")
        return 1
    print(
        f"OK: draw {record['announcement']} verified — selected {record['selected']}, "
        f"alternates {record['alternates']} from a pool of {len(record['pool'])}"
    )
    note = beacon_note(record.get("beacon") or {})
    if note:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
