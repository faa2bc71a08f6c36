#!/usr/bin/env python
"""bench/payments: the Stripe webhook under concurrent, replayed and out-of-order delivery,
and the contract pages' latency and queries as an owner's contracts grow.

    .venv/bin/python bench/payments [--contracts 10,100,1000] [--milestones 100]
                                       [--replays 50] [--threads 16] [--page-clients 4]
                                       [--page-seconds 5] [--quick] [--skip-setup]

Steps: (re)create the PostgreSQL database `bench_payments`, migrate it and load the demo
(`manage.py load_demo`); production settings in-process and in the server, Redis DB 15
(`--redis-url`) for the cache, the channel layer and the Celery broker (no worker: the
outbox's after-commit kicks only queue there). localstripe (the Stripe-protocol fake, DESIGN §8)
runs on a free port of 127.0.0.1 through marketplace/localstripe_launcher.py, the launcher the
tests use; the site's STRIPE_* settings point at it.

1. **template**: one contract made entirely through the services — a published random-draw
   announcement, four bulk agencies registered (bench/draw.py's World), close, draw, the
   selected agency confirms, award at the end of publicity, the owner's terms (two
   milestones), both signatures, each milestone delivered (a PDF) and accepted.
2. **clones**: more contracts of the same owner copied from it in bulk (an Oscar order and line
   each through ``marketplace.orders.order_for_award``; contract, two accepted milestones,
   two signatures and two deliverables with ``bulk_create``), status "accepted": payable.
3. **pages** (`--contracts`, default 10,100,1000 contracts for the owner): gunicorn with
   deploy/gunicorn.conf.py on a free 127.0.0.1 port, the owner's session cookie; a closed loop
   of `--page-clients` clients for `--page-seconds` on the template's contract page
   (``procurement:contract``) and on the owner's contract list (``procurement:contracts``,
   first page of 20): p50/p95 latency; and the SQL queries of one request of each, counted
   in-process with Django's test client (same code, same database).
4. **webhooks**: the milestones of `--milestones / 2` cloned contracts are paid as a customer
   would: ``milestone_payment_start`` (the service), the provider's intent (``get_form``),
   a card confirmed at localstripe as Stripe.js does (tests/payments_helpers.py ``pay``). For
   `--replays` of them the first card is declined (``pm_card_chargeCustomerFail``), the site
   polls (payment in error), and the retry on a new intent succeeds. The events are the ones
   localstripe recorded (GET /v1/events): one ``payment_intent.succeeded`` per milestone, the
   ``payment_intent.payment_failed`` of each declined first attempt, and `--replays` exact
   replays of succeeded events (same event id) — 200 by default — shuffled (seed 7) with each
   payment_failed moved after its payment's succeeded in the sending order, signed with the
   endpoint secret at send time and POSTed by `--threads` threads (keep-alive connections) to
   the **real server** (gunicorn, /payments/stripe/webhook/). Reported: throughput (events/s
   over the wall time), latency p50/p95/p99/max per event, HTTP statuses, the webhook's
   outcomes (applied / replayed / unchanged / unknown), and the duplicated effects, which must
   all be 0: "Paid" Oscar PaymentEvents beyond one per milestone, milestones with more than one
   "mark_paid" transition or more than one confirmed payment, audit events repeated for the
   same object and action, duplicate-refund messages queued; plus milestones paid (= milestones)
   and contracts completed (= contracts).

JSON lines on stdout (bench/README.md), progress on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import queue
import random
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

# Run as ``python bench/payments`` (this folder's __main__): a folder, not bench/payments.py,
# because a module of that name beside the other benchmarks would shadow django-payments'
# package ``payments`` when they run (a folder without __init__ does not). The project root
# goes first on the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent.parent))

from bench._util import (
    BIN,
    ROOT,
    Server,
    closed_loop,
    emit,
    emit_environment,
    emit_run_end,
    free_port,
    load_demo_database,
    log,
    percentile,
)
from bench.public_pages import bench_env, manage

BENCH = "payments"
DB = "bench_payments"
HOST = "127.0.0.1"
VAR = ROOT / "var" / "bench"
CLONE_PREFIX = "HT-B"  # cloned contracts: HT-B-000001 … (the order number too)


def stats(values_ms: list[float]) -> dict:
    def r(p):
        v = percentile(values_ms, p)
        return None if v is None else round(v, 2)

    return {
        "n": len(values_ms),
        "p50_ms": r(50),
        "p95_ms": r(95),
        "p99_ms": r(99),
        "max_ms": round(max(values_ms), 2) if values_ms else None,
    }


# --- 1. the template contract, through the services ---------------------------------------------


def admin_user_of(agency):
    from marketplace.models import Membership, Role, User

    membership = (
        Membership.objects.filter(organisation_id=agency.organisation_id, role=Role.ADMIN)
        .select_related("user")
        .first()
    )
    if membership is not None:
        return membership.user
    user = User.objects.create(email=f"bench.agency.{agency.pk}@bench.example.com")
    Membership.objects.create(user=user, organisation_id=agency.organisation_id, role=Role.ADMIN)
    return user


def template_contract(world):
    """A contract made through the services, both milestones accepted (status accepted)."""
    from django.utils import timezone

    from procurement import contracts, services
    from procurement.models import Contract, RegistrationStatus
    from tests.payments_helpers import pdf_upload

    announcement = world.announcement("基准测试支付模板")
    world.register(announcement, world.agencies(4))
    now = announcement.registration_deadline + datetime.timedelta(seconds=1)
    assert services.close_registration(announcement.pk, now=now) == "closed"
    assert services.run_selection(announcement.pk, now=now) == "selected"
    selected = announcement.registrations.get(status=RegistrationStatus.SELECTED)
    agency_user = admin_user_of(selected.agency)
    services.registration_confirm(actor=agency_user, registration=selected)
    announcement.refresh_from_db()
    after = announcement.publicity_ends_at + datetime.timedelta(seconds=1)
    assert services.award_due(announcement.pk, now=after) == "awarded"
    contract = Contract.objects.get(announcement=announcement)
    half = (contract.price / 2).quantize(Decimal("0.01"))
    today = timezone.localdate()
    contracts.contract_update_terms(
        actor=world.user,
        contract=contract,
        price=contract.price,
        scope=contract.scope,
        milestones=[
            {"title": "报告表初稿", "amount": half, "due_date": today + datetime.timedelta(3)},
            {
                "title": "取得批复",
                "amount": contract.price - half,
                "due_date": today + datetime.timedelta(6),
            },
        ],
    )
    contracts.contract_sign(actor=world.user, contract=contract, ip_address="127.0.0.1")
    contracts.contract_sign(actor=agency_user, contract=contract, ip_address="127.0.0.2")
    for milestone in contract.milestones.order_by("sequence"):
        contracts.deliverable_submit(actor=agency_user, milestone=milestone, file=pdf_upload())
        contracts.deliverable_accept(actor=world.user, milestone=milestone)
    contract.refresh_from_db()
    assert contract.status == "accepted", contract.status
    return contract


# --- 2. clones ------------------------------------------------------------------------------------


def clone(template, count: int, start: int) -> list[int]:
    """``count`` accepted copies of ``template`` (same parties, item, price, milestones) with
    their own Oscar orders; their ids."""
    from django.db import transaction
    from django.utils import timezone

    from marketplace import orders
    from procurement.models import (
        Contract,
        ContractStatus,
        Deliverable,
        Milestone,
        MilestoneStatus,
        Signature,
    )

    now = timezone.now()
    milestones = list(template.milestones.order_by("sequence"))
    deliverables = {d.milestone_id: d for d in Deliverable.objects.filter(milestone__in=milestones)}
    signatures = list(template.signatures.all())
    partner = template.agency.partner
    ids: list[int] = []
    with transaction.atomic():
        made = []
        for n in range(start, start + count):
            code = f"{CLONE_PREFIX}-{n:06d}"
            shell = Contract(code=code, price=template.price)
            order = orders.order_for_award(
                contract=shell, partner=partner, title=template.service_item.title, reference=code
            )
            orders.order_set_status(order, orders.IN_PROGRESS)
            made.append(
                Contract(
                    code=code,
                    source=template.source,
                    project_id=template.project_id,
                    service_item_id=template.service_item_id,
                    owner_id=template.owner_id,
                    agency_id=template.agency_id,
                    order=order,
                    scope=template.scope,
                    price_ceiling=template.price_ceiling,
                    price=template.price,
                    standard_fee=template.standard_fee,
                    time_limit_days=template.time_limit_days,
                    status=ContractStatus.ACCEPTED,
                    signed_at=template.signed_at,
                    due_date=template.due_date,
                    started_at=template.started_at,
                    accepted_at=now,
                )
            )
        made = Contract.objects.bulk_create(made)
        ids = [c.pk for c in made]
        new_milestones = Milestone.objects.bulk_create(
            [
                Milestone(
                    contract_id=c.pk,
                    sequence=m.sequence,
                    title=m.title,
                    amount=m.amount,
                    due_date=m.due_date,
                    status=MilestoneStatus.ACCEPTED,
                    accepted_at=now,
                )
                for c in made
                for m in milestones
            ]
        )
        by_sequence = {m.sequence: m for m in milestones}
        Deliverable.objects.bulk_create(
            [
                Deliverable(
                    milestone_id=m.pk,
                    round=1,
                    file=deliverables[by_sequence[m.sequence].pk].file.name,
                    original_name=deliverables[by_sequence[m.sequence].pk].original_name,
                    size=deliverables[by_sequence[m.sequence].pk].size,
                    sha256=deliverables[by_sequence[m.sequence].pk].sha256,
                    submitted_by_id=deliverables[by_sequence[m.sequence].pk].submitted_by_id,
                    submitted_at=now,
                    decision=Deliverable.Decision.ACCEPTED,
                    reviewed_by_id=deliverables[by_sequence[m.sequence].pk].reviewed_by_id,
                    reviewed_at=now,
                )
                for m in new_milestones
            ]
        )
        Signature.objects.bulk_create(
            [
                Signature(
                    contract_id=c.pk,
                    party=s.party,
                    organisation_id=s.organisation_id,
                    signed_by_id=s.signed_by_id,
                    signed_at=s.signed_at,
                    ip_address=s.ip_address,
                    terms_hash=s.terms_hash,
                )
                for c in made
                for s in signatures
            ]
        )
    return ids


# --- 3. pages ------------------------------------------------------------------------------------


def session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def count_queries(user, path: str) -> tuple[int, int]:
    """(status, SQL queries) of one GET by ``user``, in-process; the second of two requests,
    so per-process caches are warm as in a running server."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    client.force_login(user)
    status = queries = 0
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, HTTP_HOST=HOST)
        status, queries = response.status_code, len(ctx.captured_queries)
    return status, queries


def pages_run(args, server: Server, owner_user, template, total: int) -> list[dict]:
    from django.urls import reverse

    headers = {"Cookie": session_cookie(owner_user), "Accept-Language": "zh-hans"}
    lines = []
    for target, path in (
        ("contract_page", reverse("procurement:contract", args=[template.code])),
        ("contract_list", reverse("procurement:contracts")),
    ):
        status, queries = count_queries(owner_user, path)
        closed_loop(HOST, server.port, path, clients=args.page_clients, seconds=1, headers=headers)
        result = closed_loop(
            HOST,
            server.port,
            path,
            clients=args.page_clients,
            seconds=args.page_seconds,
            headers=headers,
        )
        line = {
            "bench": BENCH,
            "target": target,
            "contracts": total,
            "path": path,
            "queries": queries,
            "in_process_status": status,
            **result.summary(),
        }
        emit(line)
        lines.append(line)
    return lines


# --- 4. webhooks ---------------------------------------------------------------------------------


def prepare_payments(owner_user, contract_ids: list[int], declined: int, api_base: str):
    """Pays every milestone of the contracts at localstripe (the first ``declined`` with a
    declined first attempt); returns [(milestone_id, payment_id, intent, declined_intent)]."""
    import stripe
    from payments.core import provider_factory

    from procurement import settlement
    from procurement.models import Milestone
    from tests.payments_helpers import DECLINED_CARD, pay

    prepared = []
    milestones = list(
        Milestone.objects.filter(contract_id__in=contract_ids)
        .select_related("contract")
        .order_by("contract_id", "sequence")
    )
    for i, milestone in enumerate(milestones):
        payment = settlement.milestone_payment_start(
            actor=owner_user, milestone=milestone, amount=milestone.amount
        )
        provider = provider_factory(payment.variant, payment)
        provider.get_form(payment)
        payment.refresh_from_db()
        declined_intent = None
        if i < declined:
            declined_intent = payment.transaction_id
            with contextlib.suppress(stripe.CardError):  # the decline is the point
                pay(provider, payment, card=DECLINED_CARD)
            provider.sync_status(payment)  # the page's poll: the payment is in error
            assert payment.status == "error", payment.status
            provider.get_form(payment)  # the retry: a new intent
            payment.refresh_from_db()
            assert payment.transaction_id != declined_intent
        pay(provider, payment)
        prepared.append((milestone.pk, payment.pk, payment.transaction_id, declined_intent))
    return prepared


def build_events(prepared, replays: int, api_base: str, seed: int = 7) -> list[dict]:
    from tests.payments_helpers import events

    succeeded = {e["data"]["object"]["id"]: e for e in events(api_base, "payment_intent.succeeded")}
    failed = {
        e["data"]["object"]["id"]: e for e in events(api_base, "payment_intent.payment_failed")
    }
    rng = random.Random(seed)
    batch = []
    for milestone_id, _payment_id, intent, declined_intent in prepared:
        batch.append(("succeeded", milestone_id, succeeded[intent]))
        if declined_intent:
            batch.append(("failed_after", milestone_id, failed[declined_intent]))
    for _milestone_id, _payment_id, intent, _declined in rng.sample(prepared, replays):
        batch.append(("replay", _milestone_id, succeeded[intent]))
    rng.shuffle(batch)
    # Each payment_failed goes after its payment's succeeded in the sending order.
    first_success = {}
    for index, (kind, milestone_id, _event) in enumerate(batch):
        if kind == "succeeded":
            first_success[milestone_id] = index
    for index in range(len(batch)):
        kind, milestone_id, _event = batch[index]
        j = first_success[milestone_id]
        if kind == "failed_after" and index < j:
            batch[index], batch[j] = batch[j], batch[index]
            first_success[milestone_id] = index
    return batch


def send_all(port: int, batch: list, threads: int) -> dict:
    from tests.payments_helpers import WEBHOOK_PATH, sign

    work: queue.Queue = queue.Queue()
    for item in batch:
        work.put(item)
    latencies: list[float] = []
    statuses: Counter = Counter()
    outcomes: Counter = Counter()
    by_kind: Counter = Counter()
    errors: Counter = Counter()
    lock = threading.Lock()
    gate = threading.Barrier(threads + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        gate.wait()
        while True:
            try:
                kind, _milestone_id, event = work.get_nowait()
            except queue.Empty:
                break
            payload = json.dumps(event)
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload),
                "Host": HOST,
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", WEBHOOK_PATH, body=payload.encode(), headers=headers)
                response = conn.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - t0) * 1000
                outcome = ""
                if response.status == 200:
                    outcome = json.loads(body).get("outcome", "")
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status] += 1
                    outcomes[outcome or f"http_{response.status}"] += 1
                    by_kind[f"{kind}:{outcome or response.status}"] += 1
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    gate.wait()
    t0 = time.perf_counter()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - t0
    return {
        "wall_seconds": round(wall, 3),
        "throughput_eps": round(len(latencies) / wall, 1) if wall else None,
        "latency": stats(latencies),
        "status_codes": {str(k): v for k, v in sorted(statuses.items())},
        "outcomes": dict(outcomes),
        "outcomes_by_kind": dict(sorted(by_kind.items())),
        **({"exceptions": dict(errors)} if errors else {}),
    }


def duplicated_effects(contract_ids: list[int], milestone_ids: list[int], audit_from: int) -> dict:
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count, Sum
    from oscar.core.loading import get_model

    from marketplace.models import AuditEvent, OutboxMessage, Payment
    from procurement.models import Contract, Milestone
    from procurement.settlement import REFUND_TOPIC

    PaymentEvent = get_model("order", "PaymentEvent")
    Source = get_model("payment", "Source")
    order_ids = list(
        Contract.objects.filter(pk__in=contract_ids).values_list("order_id", flat=True)
    )
    paid_events = PaymentEvent.objects.filter(order_id__in=order_ids, event_type__code="paid")
    paid_refs = Counter(paid_events.values_list("reference", flat=True))
    milestones_paid = Milestone.objects.filter(pk__in=milestone_ids, status="paid").count()
    milestone_type = ContentType.objects.get_for_model(Milestone)
    mark_paid = Counter(
        AuditEvent.objects.filter(
            content_type=milestone_type,
            object_id__in=[str(pk) for pk in milestone_ids],
            action="mark_paid",
        ).values_list("object_id", flat=True)
    )
    confirmed = Counter(
        Payment.objects.filter(milestone_id__in=milestone_ids, status="confirmed").values_list(
            "milestone_id", flat=True
        )
    )
    repeated_audit = (
        AuditEvent.objects.filter(pk__gt=audit_from)
        .exclude(object_id="")
        .values("content_type_id", "object_id", "action", "to_state")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    debited = Source.objects.filter(order_id__in=order_ids).aggregate(s=Sum("amount_debited"))["s"]
    expected = Milestone.objects.filter(pk__in=milestone_ids).aggregate(s=Sum("amount"))["s"]
    return {
        "paid_events_beyond_one_per_milestone": paid_events.count()
        - milestones_paid
        + sum(n - 1 for n in paid_refs.values() if n > 1),
        "milestones_paid_twice": sum(1 for n in mark_paid.values() if n > 1),
        "milestones_with_two_confirmed_payments": sum(1 for n in confirmed.values() if n > 1),
        "audit_duplicates": sum(row["n"] - 1 for row in repeated_audit),
        "duplicate_refunds_queued": OutboxMessage.objects.filter(topic=REFUND_TOPIC).count(),
        "_checks": {
            "milestones": len(milestone_ids),
            "milestones_paid": milestones_paid,
            "contracts": len(contract_ids),
            "contracts_completed": Contract.objects.filter(
                pk__in=contract_ids, status="completed"
            ).count(),
            "amount_debited": str(debited),
            "amount_expected": str(expected),
        },
    }


def webhooks_run(args, server: Server, owner_user, contract_ids, api_base) -> dict:
    from marketplace.models import AuditEvent
    from procurement.models import Milestone

    log(f"webhooks: paying {len(contract_ids) * 2} milestones at localstripe")
    t0 = time.perf_counter()
    prepared = prepare_payments(owner_user, contract_ids, args.replays, api_base)
    batch = build_events(prepared, args.replays, api_base)
    setup_seconds = time.perf_counter() - t0
    milestone_ids = list(
        Milestone.objects.filter(contract_id__in=contract_ids).values_list("pk", flat=True)
    )
    audit_from = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    from django.db import connections

    connections.close_all()
    composition = Counter(kind for kind, _m, _e in batch)
    log(f"webhooks: sending {len(batch)} events with {args.threads} threads")
    sent = send_all(server.port, batch, args.threads)
    effects = duplicated_effects(contract_ids, milestone_ids, audit_from)
    checks = effects.pop("_checks")
    duplicates = sum(effects.values())
    ok = (
        duplicates == 0
        and checks["milestones_paid"] == checks["milestones"]
        and checks["contracts_completed"] == checks["contracts"]
        and checks["amount_debited"] == checks["amount_expected"]
        and sent["status_codes"] == {"200": len(batch)}
    )
    line = {
        "bench": BENCH,
        "target": "webhooks",
        "transport": "real HTTP to gunicorn (deploy/gunicorn.conf.py), keep-alive clients",
        "events": len(batch),
        "composition": {
            "succeeded": composition["succeeded"],
            "replays": composition["replay"],
            "payment_failed_after_succeeded": composition["failed_after"],
        },
        "threads": args.threads,
        **sent,
        "duplicated_effects": effects,
        "duplicated_effects_total": duplicates,
        "checks": checks,
        "setup_seconds": round(setup_seconds, 1),
        "ok": ok,
    }
    emit(line)
    return line


# --- main ----------------------------------------------------------------------------------------


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="Benchmark payments (JSON lines).")
    parser.add_argument("--contracts", default=None, help="owner's contracts (10,100,1000)")
    parser.add_argument("--milestones", type=int, default=100, help="milestones paid (even)")
    parser.add_argument("--replays", type=int, default=50, help="replays = declined first tries")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--page-clients", type=int, default=4)
    parser.add_argument("--page-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn processes")
    parser.add_argument("--server-threads", type=int, default=None, help="threads per process")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--quick", action="store_true", help="10,100 contracts, 2 s per page")
    parser.add_argument("--skip-setup", action="store_true", help=f"reuse {DB}")
    args = parser.parse_args(argv)
    sizes = sorted(
        int(s) for s in (args.contracts or ("10,100" if args.quick else "10,100,1000")).split(",")
    )
    if args.quick:
        args.page_seconds = min(args.page_seconds, 2.0)
    webhook_contracts = args.milestones // 2
    if args.replays > args.milestones:
        parser.error("--replays may not exceed --milestones")

    from marketplace.localstripe_launcher import LocalStripe
    from tests import payments_helpers as stripe_test

    localstripe = LocalStripe(log_path=VAR / "localstripe-payments.log")
    api_base = localstripe.start()
    log(f"localstripe on {api_base}")
    env = bench_env(DB, args.redis_url)
    env.update(
        {
            "MARKETPLACE_PAGE_CACHE_SECONDS": "0",
            "PROCUREMENT_MIN_REGISTRATION_DAYS": "0",  # deadlines minutes ahead
            "SEARCH_BACKEND": "database",
            "PRIVATE_MEDIA_ROOT": str(VAR / "private"),
            "STATIC_ROOT": str(VAR / "static-payments"),  # its own manifest
            "STRIPE_SECRET_KEY": stripe_test.SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": stripe_test.PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": stripe_test.WEBHOOK_SECRET,
            "STRIPE_API_BASE": api_base,
            "STRIPE_JS_URL": f"{api_base}/js.stripe.com/v3/",
            "GUNICORN_ACCESSLOG": "",
        }
    )
    server = None
    try:
        if not args.skip_setup:
            load_demo_database(env, DB)
        manage(env, "collectstatic", "--noinput", "-v0")  # the manifest production pages need
        os.environ.update(env)
        import django

        django.setup()
        import runpy

        import gunicorn

        conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"), init_globals={})
        workers = args.workers or conf["workers"]
        server_threads = args.server_threads or conf["threads"]
        emit_environment(
            BENCH,
            DB,
            versions={"gunicorn": gunicorn.__version__},
            redis=args.redis_url,
            server={"workers": workers, "threads": server_threads, "bind": HOST},
            stripe="localstripe (marketplace/localstripe_launcher.py)",
            contracts=sizes,
            milestones=webhook_contracts * 2,
            replays=args.replays,
            threads=args.threads,
            page_clients=args.page_clients,
            page_seconds=args.page_seconds,
        )
        from bench.draw import World
        from procurement.models import Contract

        t0 = time.perf_counter()
        world = World()
        template = template_contract(world)
        template_seconds = time.perf_counter() - t0
        start = Contract.objects.filter(code__startswith=f"{CLONE_PREFIX}-").count() + 1
        emit(
            {
                "bench": BENCH,
                "target": "template",
                "contract": template.code,
                "seconds": round(template_seconds, 1),
            }
        )

        from django.db import connections

        connections.close_all()
        port = free_port()
        server_env = dict(
            env,
            GUNICORN_BIND=f"{HOST}:{port}",
            WEB_CONCURRENCY=str(workers),
            GUNICORN_THREADS=str(server_threads),
        )
        server = Server(
            [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py"],
            env=server_env,
            host=HOST,
            port=port,
            log_path=VAR / "gunicorn-payments.log",
        )
        log(f"starting gunicorn on {HOST}:{port} ({workers} x {server_threads} gthread)")
        server.start()

        owned = 1  # the template
        clones: list[int] = []
        page_lines = []
        for size in sizes:
            if size > owned:
                t0 = time.perf_counter()
                clones += clone(template, size - owned, start + len(clones))
                log(f"{size} contracts: cloned {size - owned} in {time.perf_counter() - t0:.1f}s")
                owned = size
                from django.db import connection

                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            page_lines += pages_run(args, server, world.user, template, owned)
        for target in ("contract_page", "contract_list"):
            counts = [line["queries"] for line in page_lines if line["target"] == target]
            emit(
                {
                    "bench": BENCH,
                    "target": "queries_constant",
                    "page": target,
                    "contracts": sizes,
                    "queries": counts,
                    "constant": len(set(counts)) == 1,
                }
            )

        if webhook_contracts:
            if len(clones) < webhook_contracts:
                clones += clone(template, webhook_contracts - len(clones), start + len(clones))
            webhooks_run(args, server, world.user, clones[:webhook_contracts], api_base)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        localstripe.stop()
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
    emit_run_end(BENCH, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
