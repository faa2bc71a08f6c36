"""The drand beacon (procurement.beacons.DrandQuicknet) against a drand HTTP relay on
127.0.0.1 serving a real recorded quicknet round: its BLS signature is verified offline
(drand-verify) before the draw uses it, a forged one is refused, a round not out yet makes the
draw wait for the next tick, and the standalone verifier checks the signature again."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from procurement import beacons, draw, services
from procurement.models import Announcement, AnnouncementStatus, Draw
from tests.procurement.factories import make_announcement, pass_deadline, register_all

pytestmark = pytest.mark.django_db

# A real round of the League of Entropy's quicknet chain, as published (drand-verify's own
# documentation example): round, signature, and the randomness that is its SHA-256.
ROUND = "657413"
SIGNATURE = (
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85"
    "b89cd97b"
)
RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
FORGED = SIGNATURE[:-2] + ("00" if SIGNATURE[-2:] != "00" else "11")


class Relay:
    """A drand HTTP relay on a free port: GET /<chain hash>/public/<round>."""

    def __init__(self):
        self.rounds: dict[str, dict] = {}
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = self.path.strip("/").split("/")
                body = None
                if len(parts) == 3 and parts[0] == beacons.DrandQuicknet.chain_hash:
                    body = relay.rounds.get(parts[2])
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, round_=ROUND, signature=SIGNATURE, randomness=RANDOMNESS):
        self.rounds[round_] = {
            "round": int(round_),
            "randomness": randomness,
            "signature": signature,
        }

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay():
    server = Relay()
    yield server
    server.close()


@pytest.fixture
def with_drand(settings, relay):
    settings.PROCUREMENT = {
        **settings.PROCUREMENT,
        "BEACON": "procurement.beacons.DrandQuicknet",
        "DRAND_URL": relay.url,
    }
    return relay


def test_the_round_named_is_the_first_at_or_after_the_draw_time():
    beacon = beacons.DrandQuicknet(url="http://127.0.0.1:9")
    genesis = datetime.datetime.fromtimestamp(beacon.genesis, tz=datetime.UTC)
    assert beacon.round_for(genesis) == "1"
    assert beacon.round_for(genesis + datetime.timedelta(seconds=1)) == "2"
    assert beacon.round_for(genesis + datetime.timedelta(seconds=3)) == "2"
    assert beacon.round_for(genesis + datetime.timedelta(seconds=3 * ROUND_INDEX)) == ROUND


ROUND_INDEX = int(ROUND) - 1


def test_a_published_round_is_verified_and_a_forged_one_refused(relay):
    beacon = beacons.DrandQuicknet(url=relay.url)
    relay.publish()
    assert beacon.record(ROUND) == {
        "source": "drand-quicknet",
        "round": ROUND,
        "value": RANDOMNESS,
        "signature": SIGNATURE,
    }
    relay.publish(signature=FORGED)
    with pytest.raises(beacons.BeaconError, match="does not verify"):
        beacon.record(ROUND)
    relay.publish(randomness="00" * 32)
    with pytest.raises(beacons.BeaconError, match="not the signature's hash"):
        beacon.record(ROUND)
    with pytest.raises(beacons.BeaconUnavailable, match="HTTP 404"):
        beacon.record(str(int(ROUND) + 1))


def test_a_draw_mixes_in_the_named_round_and_waits_for_it(world, with_drand):
    relay = with_drand
    announcement = make_announcement(world)
    assert announcement.beacon_source == "drand-quicknet"
    assert int(announcement.beacon_round) > int(ROUND)  # a round of the (future) draw time
    # The recorded round stands in for the one named (the relay here has only that one).
    Announcement.objects.filter(pk=announcement.pk).update(beacon_round=ROUND)
    register_all(announcement, world.agencies)
    now = pass_deadline(announcement)
    assert services.close_registration(announcement.pk, now=now) == "closed"
    with pytest.raises(beacons.BeaconUnavailable):
        services.run_selection(announcement.pk, now=now)  # not out yet: the next tick draws
    announcement.refresh_from_db()
    assert announcement.status == AnnouncementStatus.SELECTING
    assert not Draw.objects.exists()
    relay.publish()
    assert services.run_selection(announcement.pk, now=now) == "selected"
    record = Draw.objects.get().record
    assert record["beacon"] == {
        "source": "drand-quicknet",
        "round": ROUND,
        "value": RANDOMNESS,
        "signature": SIGNATURE,
    }
    assert draw.verify(record) == []
    assert "signature verified" in draw.beacon_note(record["beacon"])
    forged = {**record, "beacon": {**record["beacon"], "signature": FORGED}}
    assert any("signature does not verify" in p for p in draw.verify(forged))
    # Another value changes the seed: the recomputation no longer matches.
    other = {**record, "beacon": {**record["beacon"], "value": "11" * 32}}
    problems = draw.verify(other)
    assert any("seed" in p for p in problems)
