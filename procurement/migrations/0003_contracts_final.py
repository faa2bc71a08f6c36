# Contract drafts left by awards before the contracts issue get their number, service item
# and price (the ceiling, as the draft's starting price), then the fields become required.

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


def fill(apps, schema_editor):
    Contract = apps.get_model("procurement", "Contract")
    for contract in Contract.objects.select_related("announcement").order_by("pk"):
        contract.code = f"HT-{contract.created_at.year}-{contract.pk:06d}"
        contract.service_item_id = contract.announcement.service_item_id
        contract.project_id = contract.announcement.project_id
        contract.price = contract.price_ceiling
        contract.save(update_fields=["code", "project", "service_item", "price"])


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0002_contracts"),
    ]

    operations = [
        migrations.AddField(
            model_name="contract",
            name="project",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contracts",
                to="procurement.project",
                verbose_name="project",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="contract",
            name="project",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contracts",
                to="procurement.project",
                verbose_name="project",
            ),
        ),
        migrations.AlterField(
            model_name="contract",
            name="code",
            field=models.CharField(max_length=20, unique=True, verbose_name="contract number"),
        ),
        migrations.AlterField(
            model_name="contract",
            name="price",
            field=models.DecimalField(
                decimal_places=2,
                max_digits=14,
                validators=[django.core.validators.MinValueValidator(Decimal("0.01"))],
                verbose_name="contract price (yuan)",
            ),
        ),
        migrations.AlterField(
            model_name="contract",
            name="service_item",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="contracts",
                to="cms.serviceitempage",
                verbose_name="service item",
            ),
        ),
    ]
