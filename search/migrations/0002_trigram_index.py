"""On PostgreSQL, a trigram GIN index serves ``search_text LIKE '%…%'`` (the database backend's
substring match). pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
create it. Where it cannot be created the backend still answers, by scanning; the migration
says so instead of failing the deploy. SQLite needs nothing."""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEX = "mp_search_doc_text_trgm"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning("pg_trgm is not available (%s): substring search will scan", exc)
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON mp_search_searchdocument "
        "USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("mp_search", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
