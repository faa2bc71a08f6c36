"""Maps each free-text qualification name to a QualificationType (creating missing ones from
the reference list, or as ungraded legacy types) and rewrites the requirements kept in page
revisions the same way."""

from django.db import migrations


def _type_for(name, QualificationType, Industry, cache):
    from marketplace.reference import INDUSTRIES, QUALIFICATION_TYPES

    name = (name or "").strip()
    if name in cache:
        return cache[name]
    qtype = QualificationType.objects.filter(name=name).first()
    if qtype is None:
        reference = {
            n: (code, industry, levels) for code, n, industry, levels in QUALIFICATION_TYPES
        }
        code, industry_code, levels = reference.get(name, (None, None, []))
        if industry_code is None:
            industry_code = "development"
        industry = Industry.objects.filter(code=industry_code).first()
        if industry is None:
            spec = {c: (n, en) for c, n, en in INDUSTRIES}[industry_code]
            industry = Industry.objects.create(code=industry_code, name=spec[0], name_en=spec[1])
        if code is None:
            code = f"legacy-{QualificationType.objects.count() + 1}"
        qtype = QualificationType.objects.create(
            code=code, name=name or code, industry=industry, levels=levels
        )
    cache[name] = qtype
    return qtype


def forwards(apps, schema_editor):
    QualificationRequirement = apps.get_model("cms", "QualificationRequirement")
    QualificationType = apps.get_model("marketplace", "QualificationType")
    Industry = apps.get_model("marketplace", "Industry")
    Revision = apps.get_model("wagtailcore", "Revision")
    cache = {}
    for requirement in QualificationRequirement.objects.all():
        requirement.qualification = _type_for(
            requirement.qualification_type, QualificationType, Industry, cache
        )
        requirement.save(update_fields=["qualification"])
    for revision in Revision.objects.filter(content__has_key="qualification_requirements"):
        changed = False
        for row in revision.content.get("qualification_requirements") or []:
            if "qualification_type" in row:
                row["qualification"] = _type_for(
                    row.pop("qualification_type"), QualificationType, Industry, cache
                ).pk
                changed = True
        if changed:
            revision.save(update_fields=["content"])


def backwards(apps, schema_editor):
    QualificationRequirement = apps.get_model("cms", "QualificationRequirement")
    for requirement in QualificationRequirement.objects.select_related("qualification"):
        requirement.qualification_type = requirement.qualification.name
        requirement.save(update_fields=["qualification_type"])


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0002_qualificationrequirement_qualification"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
