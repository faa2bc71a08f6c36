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
