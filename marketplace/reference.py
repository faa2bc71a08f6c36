"""Reference lists shared by every app. Codes are stable identifiers used in URLs, filters and
demo data; names are what people read."""

# (code, 中文名, English name) — the industries (行业主管部门的领域) of the demo catalog.
INDUSTRIES: list[tuple[str, str, str]] = [
    ("construction", "住房和城乡建设", "Housing and construction"),
    ("ecology", "生态环境", "Ecology and environment"),
    ("natural-resources", "自然资源", "Natural resources"),
    ("emergency", "应急管理", "Emergency management and work safety"),
    ("water", "水利", "Water resources"),
    ("development", "发展和改革", "Development and reform"),
    ("meteorology", "气象", "Meteorology"),
    ("fire", "消防救援", "Fire and rescue"),
]


def ensure_industries() -> dict:
    """Creates the reference industries if missing; returns them by code. Idempotent."""
    from marketplace.models import Industry

    result = {}
    for order, (code, name, name_en) in enumerate(INDUSTRIES):
        industry, _ = Industry.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "sort_order": order}
        )
        result[code] = industry
    return result
