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


# (code, 中文名, industry code, levels highest first) — the maintained list of qualification
# types (资质类型) of the demo catalog. Several former grades were abolished by the reforms
# (e.g. tendering agencies, cost consultancies); those types are ungraded: holding the
# registration is enough.
QUALIFICATION_TYPES: list[tuple[str, str, str, list[str]]] = [
    ("tendering-agency", "招标代理机构", "construction", []),
    ("cost-consulting", "工程造价咨询企业", "construction", []),
    ("drawing-review", "施工图审查机构", "construction", ["一类", "二类"]),
    ("quality-testing", "建设工程质量检测机构资质", "construction", ["综合资质", "专项资质"]),
    ("engineering-consulting", "工程咨询单位", "development", ["甲级", "乙级"]),
    ("eia-unit", "环境影响评价单位", "ecology", []),
    ("cma", "检验检测机构资质认定（CMA）", "ecology", []),
    ("surveying", "测绘资质", "natural-resources", ["甲级", "乙级"]),
    ("geohazard-assessment", "地质灾害危险性评估单位资质", "natural-resources", ["甲级", "乙级"]),
    ("land-appraisal", "土地估价机构备案", "natural-resources", []),
    ("geological-survey", "地质勘查单位", "natural-resources", []),
    ("safety-assessment", "安全评价机构资质", "emergency", ["甲级", "乙级"]),
    ("soil-water-plan", "水土保持方案编制单位", "water", []),
    ("water-resources-demonstration", "水资源论证单位", "water", []),
    ("water-engineering-consulting", "水利工程咨询单位", "water", []),
    ("lightning-testing", "雷电防护装置检测资质", "meteorology", ["甲级", "乙级"]),
    ("meteorological-service", "气象服务机构", "meteorology", []),
    ("fire-technical-service", "消防技术服务机构", "fire", []),
]


def ensure_qualification_types() -> dict:
    """Creates or updates the reference qualification types; returns them by code."""
    from marketplace.models import QualificationType

    industries = ensure_industries()
    result = {}
    for code, name, industry_code, levels in QUALIFICATION_TYPES:
        qtype, _ = QualificationType.objects.update_or_create(
            code=code,
            defaults={"name": name, "industry": industries[industry_code], "levels": levels},
        )
        result[code] = qtype
    return result
