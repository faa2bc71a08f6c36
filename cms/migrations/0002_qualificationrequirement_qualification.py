"""Adds the foreign key from qualification requirements to the maintained list of
qualification types (marketplace.QualificationType); 0003 fills it, 0004 drops the text."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("marketplace", "0005_qualificationtype"),
    ]

    operations = [
        migrations.AddField(
            model_name="qualificationrequirement",
            name="qualification",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="requirements",
                to="marketplace.qualificationtype",
                verbose_name="qualification type",
            ),
        ),
        migrations.AlterField(
            model_name="qualificationrequirement",
            name="qualification_type",
            field=models.CharField(
                blank=True, default="", max_length=120, verbose_name="qualification type"
            ),
        ),
    ]
