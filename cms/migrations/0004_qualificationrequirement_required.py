"""Drops the free-text qualification name and makes the qualification type required."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cms", "0003_qualificationrequirement_map_names")]

    operations = [
        migrations.RemoveField(model_name="qualificationrequirement", name="qualification_type"),
        migrations.AlterField(
            model_name="qualificationrequirement",
            name="qualification",
            field=models.ForeignKey(
                help_text="From the maintained list of qualification types, e.g. 工程造价咨询企业",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="requirements",
                to="marketplace.qualificationtype",
                verbose_name="qualification type",
            ),
        ),
        migrations.AlterField(
            model_name="qualificationrequirement",
            name="minimum_level",
            field=models.CharField(
                blank=True,
                help_text="One of the type's levels (e.g. 乙级); empty when any level will do.",
                max_length=40,
                verbose_name="minimum level",
            ),
        ),
    ]
