"""On PostgreSQL, name sort keys and object ids compare byte by byte ("C" collation), as
Elasticsearch's keyword fields and SQLite's default do, whatever the database's locale (the
postgres image defaults to en_US, which ignores punctuation and spaces when sorting)."""

from django.db import migrations

COLUMNS = (("sort_name", 300), ("object_id", 64))


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, length in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE mp_search_searchdocument ALTER COLUMN {column} '
            f'TYPE varchar({length}) COLLATE "C"'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column, length in COLUMNS:
        schema_editor.execute(
            f'ALTER TABLE mp_search_searchdocument ALTER COLUMN {column} '
            f'TYPE varchar({length}) COLLATE "default"'
        )


class Migration(migrations.Migration):
    dependencies = [("mp_search", "0002_trigram_index")]
    operations = [migrations.RunPython(forwards, backwards)]
