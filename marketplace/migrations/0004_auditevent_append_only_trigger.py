"""Append-only audit events, enforced by the database as well as by the ORM: on PostgreSQL a
trigger rejects UPDATE and DELETE of any row of marketplace_auditevent, whoever issues them.
(TRUNCATE is left alone: the test runner's flush uses it.) SQLite, used only by the demo, relies
on the ORM guard."""

from django.db import migrations

TABLE = "marketplace_auditevent"

CREATE = f"""
CREATE OR REPLACE FUNCTION marketplace_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on {TABLE} is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS marketplace_auditevent_append_only ON {TABLE};
CREATE TRIGGER marketplace_auditevent_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION marketplace_auditevent_append_only();
"""

DROP = f"""
DROP TRIGGER IF EXISTS marketplace_auditevent_append_only ON {TABLE};
DROP FUNCTION IF EXISTS marketplace_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0003_core")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
