"""Updating many rows, each with its own values, in few statements.

Django's ``QuerySet.bulk_update`` writes ``SET f = CASE WHEN id=1 THEN … WHEN id=2 THEN …``
and resolves one expression per row and field in Python: freezing a pool of 5,000
registrations spent 12 of its 19 seconds there (bench/draw.py). On PostgreSQL this writes
``UPDATE t SET f = v.f FROM (VALUES (id, f), …) AS v WHERE t.id = v.id`` instead, with the
values adapted by each field exactly as a ``save()`` would; elsewhere (SQLite, the demo) it
falls back to ``bulk_update``. Like ``bulk_update`` it sends no signals and skips
``auto_now``: the caller sets every value it names.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router

BATCH = 2000


def bulk_update(objs: Sequence, fields: Sequence[str], *, batch_size: int = BATCH) -> int:
    """Writes ``fields`` of every object in ``objs`` (all of one model, saved); returns the
    number of rows updated."""
    if not objs:
        return 0
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields, batch_size=min(batch_size, 500))
    meta = model._meta
    quote = connection.ops.quote_name
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    names = ", ".join([quote(pk.column)] + [quote(f.column) for f in columns])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    # Casts on the first row type the VALUES list (untyped literals would be text).
    typed = (
        "("
        + ", ".join(
            [f"%s::{pk.db_type(connection)}"] + [f"%s::{f.db_type(connection)}" for f in columns]
        )
        + ")"
    )
    plain = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params: list = []
            for obj in batch:
                params.append(pk.get_db_prep_value(obj.pk, connection))
                params.extend(
                    f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns
                )
            rows = ", ".join([typed] + [plain] * (len(batch) - 1))
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
                f"FROM (VALUES {rows}) AS v({names}) "
                f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
                params,
            )
            updated += cursor.rowcount
    return updated
