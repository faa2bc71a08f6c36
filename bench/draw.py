#!/usr/bin/env python
"""bench/draw: the verifiable draw (procurement, issue 5) — freezing, drawing and verifying
pools of 10, 1,000 and 100,000 agencies; 50 concurrent attempts to close and draw one
announcement; and the live draw room's fan-out to 100 and 1,000 websocket viewers.

    .venv/bin/python bench/draw.py [--sizes 10,1000,100000] [--attempts 50]
                                   [--viewers 100,1000] [--ws-rounds 3] [--quick]

Steps: (re)create the PostgreSQL database `bench_draw`, migrate it and load the demo
(`manage.py load_demo`: regions, catalog, qualification types, demo agencies and owners);
production settings, Redis DB 10 for the channel layer, the cache and the Celery broker (no
worker runs: the outbox's kicks only queue there; DB 10 is flushed before and after).

1. Per pool size, one published random-draw announcement (through the services) and that many
   agencies written in bulk (bulk_create: organisation with a valid USCC, approved agency,
   a valid certificate of the item's qualification, the declared item) with one SUBMITTED
   registration each; ANALYZE. Then, timed apart with the SQL queries of each
   (CaptureQueriesContext): `services.close_registration` (eligibility of every registrant,
   pool hash, the transitions' audit events, room events) and `services.run_selection` (the
   draw, the ranking persisted, room events and notifications queued), with the outbox messages
   and audit events each wrote; `draw.verify(record)` on the stored record; and the standalone
   verifier `python3 procurement/draw.py verify record.json` as a subprocess (wall time).
2. One announcement with 20 eligible registrants past its deadline; N threads (own database
   connection each) released together by a barrier each call close_registration then
   run_selection. Reports what each attempt returned, the Draw rows (must be 1) and the
   close / start_selection / select transitions in the audit trail (1 each).
3. The live room: N real websocket clients (channels.testing.WebsocketCommunicator through
   marketplace.asgi.application: origin check, sessions, routing, procurement.consumers.
   DrawRoomConsumer) joined to one announcement's room over channels-redis; then the "result"
   event is written through the outbox (procurement.room.emit in a transaction) and delivered
   with marketplace.outbox.deliver (what the worker does). Latency per viewer = from the start
   of deliver() to the frame arriving at that client; all clients run in this one process.

JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import ROOT, django_run, emit, emit_environment, log, percentile

BENCH = "draw"
DB = "bench_draw"
ITEM_CODE = "YN-ZJ-0013"  # 建设项目环境影响报告表编制: requires an 环评 unit certificate
PROJECT_REGION = "530102"  # 五华区
AGENCY_COUNTY = "530111"  # 官渡区: bench agencies' home
ORIGIN = [(b"origin", b"http://127.0.0.1")]
_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWX"  # 30 characters of the USCC alphabet


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def stats(values_ms: list[float]) -> dict:
    def r(p):
        v = percentile(values_ms, p)
        return None if v is None else round(v, 2)

    return {
        "n": len(values_ms),
        "p50_ms": r(50),
        "p90_ms": r(90),
        "p99_ms": r(99),
        "max_ms": round(max(values_ms), 2) if values_ms else None,
    }


# --- fixtures -------------------------------------------------------------------------------


class World:
    """The owner, project and item every announcement of the run uses."""

    def __init__(self):
        from cms.models import ServiceItemPage
        from marketplace.models import Organisation, QualificationType, Region, User
        from marketplace.validators import make_uscc
        from procurement import services

        self.item = ServiceItemPage.objects.live().select_related("fee_rule").get(code=ITEM_CODE)
        self.user = User.objects.create(email=f"bench.owner.{os.getpid()}@bench.example.com")
        self.owner = services.owner_register(
            actor=self.user,
            name="基准测试业主单位（基准）",
            uscc=make_uscc(f"91{PROJECT_REGION}MW{_body(os.getpid() % 30**6)}"),
            region=Region.objects.get(code=PROJECT_REGION),
            legal_representative="基准业主法人",
            contact_name="基准联系人",
            contact_phone="0871-60000000",
        )
        self.project = services.project_create(
            actor=self.user,
            owner=self.owner,
            name="基准测试项目",
            region=Region.objects.get(code=PROJECT_REGION),
            total_investment="50000000",
        )
        requirement = self.item.qualification_requirements.select_related("qualification").first()
        self.qtype: QualificationType = requirement.qualification
        self.level = requirement.minimum_level or (self.qtype.levels or [""])[0]
        # Continue after the bench agencies of earlier runs (--skip-setup): USCCs stay unique.
        self.serial = Organisation.objects.filter(uscc__startswith=f"91{AGENCY_COUNTY}MY").count()

    def announcement(self, title: str):
        import datetime

        from django.utils import timezone

        from procurement import services
        from procurement.demo import _budget

        draft = services.announcement_create(
            actor=self.user,
            project=self.project,
            service_item=self.item,
            title=title,
            scope="基准测试：编制环境影响报告表。",
            budget_ceiling=_budget(self.item, self.project, None),
            method="random_draw",
            registration_deadline=timezone.now() + datetime.timedelta(minutes=2),
            selected_count=1,
            alternate_count=2,
        )
        return services.announcement_publish(actor=self.user, announcement=draft)

    def agencies(self, count: int, batch: int = 5000) -> list[int]:
        """``count`` eligible agencies in bulk; their ids."""
        import datetime

        from django.db import transaction
        from django.utils import timezone

        from agencies.models import (
            Agency,
            AgencyServiceItem,
            EnrolmentStatus,
            QualificationCertificate,
        )
        from marketplace.models import Organisation, OrganisationKind
        from marketplace.validators import make_uscc

        today = timezone.localdate()
        now = timezone.now()
        ids: list[int] = []
        for start in range(0, count, batch):
            n = min(batch, count - start)
            serials = range(self.serial, self.serial + n)
            self.serial += n
            with transaction.atomic():
                orgs = Organisation.objects.bulk_create(
                    [
                        Organisation(
                            kind=OrganisationKind.AGENCY,
                            name=f"基准环境科技有限公司{s:06d}（基准）",
                            uscc=make_uscc(f"91{AGENCY_COUNTY}MY{_body(s)}"),
                            region_id=AGENCY_COUNTY,
                        )
                        for s in serials
                    ],
                    batch_size=batch,
                )
                agencies = Agency.objects.bulk_create(
                    [
                        Agency(
                            organisation_id=o.pk,
                            legal_representative=f"机构法人{s}",
                            registered_address="昆明市官渡区基准路1号",
                            contact_name="联系人",
                            contact_phone="0871-61234567",
                            business_scope="环境影响评价",
                            status=EnrolmentStatus.APPROVED,
                            submitted_at=now,
                            approved_at=now,
                        )
                        for o, s in zip(orgs, serials, strict=True)
                    ],
                    batch_size=batch,
                )
                QualificationCertificate.objects.bulk_create(
                    [
                        QualificationCertificate(
                            agency_id=a.pk,
                            qualification_type=self.qtype,
                            level=self.level,
                            certificate_number=f"BENCH-{os.getpid()}-{s:07d}",
                            issuing_authority="基准发证机关",
                            valid_from=today - datetime.timedelta(days=365),
                            valid_until=today + datetime.timedelta(days=3 * 365),
                            status="valid",
                        )
                        for a, s in zip(agencies, serials, strict=True)
                    ],
                    batch_size=batch,
                )
                AgencyServiceItem.objects.bulk_create(
                    [AgencyServiceItem(agency_id=a.pk, service_item=self.item) for a in agencies],
                    batch_size=batch,
                )
            ids += [a.pk for a in agencies]
        return ids

    @staticmethod
    def register(announcement, agency_ids: list[int], batch: int = 5000) -> None:
        from procurement.models import Registration

        Registration.objects.bulk_create(
            [Registration(announcement=announcement, agency_id=pk) for pk in agency_ids],
            batch_size=batch,
        )


def _body(n: int) -> str:
    """Six characters of the organisation-code body from a counter (30**6 distinct)."""
    out = []
    for _ in range(6):
        n, r = divmod(n, 30)
        out.append(_CHARS[r])
    return "".join(reversed(out))


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def counts_by_topic() -> Counter:
    from django.db.models import Count

    from marketplace.models import OutboxMessage

    return Counter(
        dict(OutboxMessage.objects.values_list("topic").annotate(n=Count("id")).order_by())
    )


def audit_count() -> int:
    from marketplace.models import AuditEvent

    return AuditEvent.objects.count()


def measured(fn):
    """(result, seconds, SQL queries, outbox messages by topic, audit events) of ``fn()``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    outbox_before, audit_before = counts_by_topic(), audit_count()
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
    queries = len(ctx.captured_queries)
    outbox = counts_by_topic() - outbox_before
    return result, seconds, queries, dict(outbox), audit_count() - audit_before


# --- 1. freeze, draw, verify ----------------------------------------------------------------


def pool_size_run(world: World, size: int) -> dict:
    import datetime

    from procurement import draw, services
    from procurement.models import Announcement, Draw

    log(f"pool {size}: creating {size} agencies and registrations")
    t0 = time.perf_counter()
    announcement = world.announcement(f"基准测试抽取 {size}")
    ids = world.agencies(size)
    world.register(announcement, ids)
    analyze()
    setup_seconds = time.perf_counter() - t0
    now = announcement.registration_deadline + datetime.timedelta(seconds=1)

    log(f"pool {size}: close_registration")
    closed, close_s, close_q, close_outbox, close_audit = measured(
        lambda: services.close_registration(announcement.pk, now=now)
    )
    log(f"pool {size}: run_selection")
    selected, draw_s, draw_q, draw_outbox, draw_audit = measured(
        lambda: services.run_selection(announcement.pk, now=now)
    )
    announcement = Announcement.objects.get(pk=announcement.pk)

    t0 = time.perf_counter()
    record = Draw.objects.get(announcement=announcement).record
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    problems = draw.verify(record)
    verify_s = time.perf_counter() - t0

    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", prefix="bench-draw-", delete=False, encoding="utf-8"
    ) as fh:
        json.dump(record, fh, ensure_ascii=False)
        path = fh.name
    try:
        record_bytes = os.path.getsize(path)
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["python3", str(ROOT / "procurement" / "draw.py"), "verify", path],
            capture_output=True,
            text=True,
            check=False,
        )
        cli_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        baseline = subprocess.run(["python3", "-c", "pass"], check=False)
        python_start_s = time.perf_counter() - t0
    finally:
        os.unlink(path)

    line = {
        "bench": BENCH,
        "target": "pool",
        "size": size,
        "setup_seconds": round(setup_seconds, 2),
        "close": {
            "result": closed,
            "ms": ms(close_s),
            "queries": close_q,
            "outbox": close_outbox,
            "audit_events": close_audit,
        },
        "draw": {
            "result": selected,
            "ms": ms(draw_s),
            "queries": draw_q,
            "outbox": draw_outbox,
            "audit_events": draw_audit,
        },
        "close_plus_draw_ms": ms(close_s + draw_s),
        "status": announcement.status,
        "pool_size": len(record.get("pool", [])),
        "record_bytes": record_bytes,
        "load_record_ms": ms(load_s),
        "verify_ms": ms(verify_s),
        "verify_problems": problems,
        "standalone_verifier": {
            "wall_ms": ms(cli_s),
            "exit_code": proc.returncode,
            "output": (proc.stdout or proc.stderr).strip()[:200],
            "python3_startup_ms": ms(python_start_s),
            "python3_ok": baseline.returncode == 0,
        },
    }
    emit(line)
    return line


# --- 2. concurrent close and draw -----------------------------------------------------------


def concurrency_run(world: World, attempts: int, pool: int = 20) -> dict:
    import datetime

    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    from marketplace.models import AuditEvent
    from procurement import services
    from procurement.models import Announcement, Draw

    announcement = world.announcement(f"基准测试并发抽取 {attempts}")
    world.register(announcement, world.agencies(pool))
    now = announcement.registration_deadline + datetime.timedelta(seconds=1)
    barrier = threading.Barrier(attempts)
    results: list[tuple] = [None] * attempts  # type: ignore[list-item]
    durations: list[float] = [0.0] * attempts

    def attempt(i: int) -> None:
        try:
            from django.db import connection

            connection.ensure_connection()  # connect before the barrier: race the services
            barrier.wait()
            t0 = time.perf_counter()
            try:
                closed = services.close_registration(announcement.pk, now=now)
            except Exception as exc:  # noqa: BLE001 - reported
                closed = f"error: {type(exc).__name__}: {exc}"[:160]
            try:
                selected = services.run_selection(announcement.pk, now=now)
            except Exception as exc:  # noqa: BLE001 - reported
                selected = f"error: {type(exc).__name__}: {exc}"[:160]
            durations[i] = time.perf_counter() - t0
            results[i] = (closed, selected)
        finally:
            connections.close_all()

    log(f"concurrency: {attempts} threads")
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0

    content_type = ContentType.objects.get_for_model(Announcement)
    events = Counter(
        AuditEvent.objects.filter(
            content_type=content_type, object_id=str(announcement.pk)
        ).values_list("action", flat=True)
    )
    outcomes = Counter(f"close={c} draw={s}" for c, s in results)
    announcement.refresh_from_db()
    line = {
        "bench": BENCH,
        "target": "concurrency",
        "attempts": attempts,
        "pool_size": pool,
        "outcomes": dict(outcomes),
        "draw_rows": Draw.objects.filter(announcement=announcement).count(),
        "transitions": {
            k: events.get(k, 0) for k in ("close_registration", "start_selection", "select")
        },
        "status": announcement.status,
        "wall_ms": ms(wall),
        "attempt_latency": stats([d * 1000 for d in durations]),
        "ok": (
            Draw.objects.filter(announcement=announcement).count() == 1
            and all(events.get(k) == 1 for k in ("close_registration", "start_selection", "select"))
        ),
    }
    emit(line)
    return line


# --- 3. websocket fan-out -------------------------------------------------------------------


async def fanout_run(world: World, viewers: int, rounds: int, timeout: float) -> dict:
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import transaction

    from marketplace import outbox
    from marketplace.asgi import application
    from procurement import room

    announcement = await sync_to_async(world.announcement)(f"基准测试直播 {viewers}")
    path = f"/ws/procurement/{announcement.code}/room/"
    log(f"fan-out: connecting {viewers} websocket clients")
    clients = []
    connect_ms = []
    t_all = time.perf_counter()
    for _ in range(viewers):
        client = WebsocketCommunicator(application, path, headers=ORIGIN)
        t0 = time.perf_counter()
        connected, _code = await client.connect(timeout=timeout)
        if not connected:
            raise RuntimeError("a viewer could not connect to the room")
        first = await client.receive_json_from(timeout=timeout)
        connect_ms.append((time.perf_counter() - t0) * 1000)
        if first.get("type") != "snapshot":
            raise RuntimeError(f"expected the snapshot first, got {first!r}")
        clients.append(client)
    connect_total = time.perf_counter() - t_all

    payload = {
        "selected": [
            {"id": 1, "name": "基准环境科技有限公司000001（基准）", "uscc": "", "position": 1}
        ],
        "alternates": [
            {"id": i, "name": f"基准环境科技有限公司{i:06d}（基准）", "uscc": "", "position": i}
            for i in (2, 3)
        ],
    }

    def enqueue() -> int:
        with transaction.atomic():
            room.emit(announcement, "result", payload)
        from marketplace.models import OutboxMessage

        return OutboxMessage.objects.filter(topic=room.ROOM_TOPIC).latest("pk").pk

    def deliver(message_id: int) -> tuple[bool, float, float]:
        t0 = time.perf_counter()
        ok = outbox.deliver(message_id)
        return ok, t0, time.perf_counter()

    latencies: list[float] = []
    totals, deliver_calls, lost = [], [], 0
    for _ in range(rounds):
        message_id = await sync_to_async(enqueue)()
        arrivals: list[float] = []

        async def receive(client, arrivals=arrivals):
            message = await client.receive_json_from(timeout=timeout)
            arrivals.append(time.perf_counter())
            return message

        tasks = [asyncio.ensure_future(receive(c)) for c in clients]
        await asyncio.sleep(0)
        ok, started, returned = await sync_to_async(deliver, thread_sensitive=False)(message_id)
        done = await asyncio.gather(*tasks, return_exceptions=True)
        lost += sum(1 for m in done if isinstance(m, BaseException) or m.get("event") != "result")
        latencies += [(a - started) * 1000 for a in arrivals]
        totals.append((max(arrivals) - started) * 1000 if arrivals else None)
        deliver_calls.append((returned - started) * 1000)
        if not ok:
            raise RuntimeError("outbox.deliver did not deliver the room event")

    line = {
        "bench": BENCH,
        "target": "fanout",
        "measured": (
            "real websocket clients: channels.testing.WebsocketCommunicator through "
            "marketplace.asgi.application to procurement.consumers.DrawRoomConsumer, "
            "channels-redis layer; latency = start of outbox.deliver() → frame at the client; "
            "clients and consumers share this one process and event loop"
        ),
        "viewers": viewers,
        "rounds": rounds,
        "connect": {"total_ms": ms(connect_total), **stats(connect_ms)},
        "latency": stats(latencies),
        "total_ms_per_round": [round(t, 2) if t is not None else None for t in totals],
        "deliver_call_ms": [round(t, 2) for t in deliver_calls],
        "lost": lost,
    }
    # A consumer that failed while the viewers were connected shows up at its disconnect.
    errors = Counter()
    for client in clients:
        try:
            await client.disconnect()
        except Exception as exc:  # noqa: BLE001 - reported on the line
            errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
    line["consumer_errors"] = dict(errors)
    emit(line)
    return line


# --- main -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Benchmark the verifiable draw (JSON lines).")
    parser.add_argument("--sizes", default=None, help="pool sizes (default 10,1000,100000)")
    parser.add_argument("--attempts", type=int, default=50, help="concurrent close+draw attempts")
    parser.add_argument("--viewers", default=None, help="room viewers (default 100,1000)")
    parser.add_argument("--ws-rounds", type=int, default=3, help="result events per viewer count")
    parser.add_argument("--ws-timeout", type=float, default=60.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: pools 10,1000, 20 attempts, 100 viewers (≈ 1.5 min)",
    )
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {DB}")
    args = parser.parse_args(argv)
    sizes = [
        int(s)
        for s in (args.sizes or ("10,1000" if args.quick else "10,1000,100000")).split(",")
        if s.strip() and int(s) > 0
    ]
    viewers = [
        int(s)
        for s in (args.viewers or ("100" if args.quick else "100,1000")).split(",")
        if s.strip()
    ]
    attempts = min(args.attempts, 20) if args.quick else args.attempts

    with django_run(
        BENCH,
        DB,
        args.redis_url,
        started=started,
        skip_setup=args.skip_setup,
        extra_env={"PROCUREMENT_MIN_REGISTRATION_DAYS": "0"},  # deadlines minutes ahead
    ):
        import channels
        import channels_redis

        emit_environment(
            BENCH,
            DB,
            versions={
                "channels": channels.__version__,
                "channels_redis": getattr(channels_redis, "__version__", "?"),
            },
            redis=args.redis_url,
            sizes=sizes,
            attempts=attempts,
            viewers=viewers,
            ws_rounds=args.ws_rounds,
        )
        world = World()
        for size in sizes:
            pool_size_run(world, size)
        if attempts > 0:
            concurrency_run(world, attempts)
        for n in viewers:
            asyncio.run(fanout_run(world, n, args.ws_rounds, args.ws_timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
