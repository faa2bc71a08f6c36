"""Public randomness beacons mixed into a draw's seed (DESIGN §6, point 3), pluggable.

A beacon names, at publication, a round whose value nobody knows yet (``round_for``), and
reads that value at the draw (``value``). Mixing it in means that even an operator who knew
the secret in advance could not know the result before the round is published. The platform
runs without one by default (``PROCUREMENT["BEACON"] = "none"``): the commitment alone already
stops the operator from rerunning the draw for another result.

To add one (drand, a national time-stamping service …), subclass ``Beacon`` and point
``PROCUREMENT["BEACON"]`` at it by dotted path. Its ``value`` must return the round's value
as hex, and whoever checks a draw must be able to check that value against the beacon's
public record (for drand: the round's BLS signature, verifiable offline with drand-verify).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string


class BeaconUnavailable(Exception):
    """The round's value cannot be read yet; the draw waits for the next scheduler tick."""


class Beacon:
    source = "none"

    def round_for(self, draw_time: datetime) -> str:
        """The round, named at publication, whose value the draw at ``draw_time`` uses."""
        return ""

    def value(self, round_: str) -> str:
        """The round's value as hex ("" for no beacon). Raises BeaconUnavailable."""
        return ""

    def record(self, round_: str) -> dict:
        return {"source": self.source, "round": round_ or None, "value": self.value(round_)}


def get_beacon() -> Beacon:
    name = settings.PROCUREMENT.get("BEACON") or "none"
    if name == "none":
        return Beacon()
    return import_string(name)()


class BeaconError(Exception):
    """The beacon answered with something that does not verify: the draw must not use it."""


class DrandQuicknet(Beacon):
    """The League of Entropy's drand "quicknet" chain (a round every 3 s, BLS signatures on
    G1, unchained). The round named at publication is the first one emitted at or after the
    draw time; at the draw its value is fetched from ``PROCUREMENT["DRAND_URL"]`` (a drand HTTP
    relay) and accepted only if its signature verifies against the chain's public key
    (``drand-verify``, offline). The record keeps the signature, so the standalone verifier
    checks it again."""

    source = "drand-quicknet"
    chain_hash = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
    genesis = 1692803367  # the chain's genesis time (Unix seconds)
    period = 3

    def __init__(self, url: str | None = None, timeout: float = 5.0):
        self.url = (url or settings.PROCUREMENT.get("DRAND_URL") or "").rstrip("/")
        self.timeout = timeout

    def round_for(self, draw_time: datetime) -> str:
        elapsed = int(draw_time.timestamp()) - self.genesis
        return str(max(1, -(-elapsed // self.period) + 1))

    def fetch(self, round_: str) -> dict:
        import json
        import urllib.error
        import urllib.request

        if not self.url:
            raise BeaconUnavailable("PROCUREMENT_DRAND_URL is not set")
        request = urllib.request.Request(
            f"{self.url}/{self.chain_hash}/public/{int(round_)}",
            headers={"Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            raise BeaconUnavailable(f"drand round {round_}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise BeaconUnavailable(f"drand round {round_}: {exc}") from exc
        return self.verified(round_, body)

    @staticmethod
    def verified(round_: str, body: dict) -> dict:
        import drand_verify

        signature = str(body.get("signature") or "")
        try:
            randomness = drand_verify.verify_quicknet(int(round_), signature)
        except ValueError as exc:
            raise BeaconError(f"drand round {round_}: the signature does not verify") from exc
        if body.get("randomness") and body["randomness"] != randomness:
            raise BeaconError(f"drand round {round_}: the randomness is not the signature's hash")
        return {"round": str(int(round_)), "value": randomness, "signature": signature}

    def value(self, round_: str) -> str:
        return self.fetch(round_)["value"]

    def record(self, round_: str) -> dict:
        fetched = self.fetch(round_)
        return {"source": self.source, **fetched}
