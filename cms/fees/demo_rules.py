"""The demo fee rules as plain data (no Django): one real published standard (zbdl-1980, from
../shared/data/fee-standards.md) and illustrative ones (示例, invented numbers) covering every
rule type. ``cms.fees.demo.load_fee_rules()`` saves them; the benchmark reads them directly."""

from __future__ import annotations

from decimal import Decimal

WAN = 10000


def _y(wan: int | str) -> str:
    """万元 → yuan string (exact)."""
    return f"{(Decimal(str(wan)) * WAN).normalize():f}"


def _brackets(edges_wan: list[int], rates: list[str]) -> list[dict]:
    out = []
    lower = 0
    for upper, rate in zip(edges_wan, rates):
        out.append({"from": _y(lower), "to": _y(upper), "rate_pct": rate})
        lower = upper
    return out


def _points(pairs: list[tuple[str, str]]) -> list[dict]:
    """[(amount 万元, fee 万元)] → points in yuan."""
    return [{"amount": _y(a), "fee": _y(f)} for a, f in pairs]


ILLUSTRATIVE_NOTE_ZH = "示例数据：本收费标准为演示虚构的数字，并非任何已发布的收费文件。"
ILLUSTRATIVE_NOTE_EN = ("Illustrative: invented numbers for the demo, not a published fee "
                        "standard.")

_ZBDL_EDGES = [100, 500, 1000, 5000, 10000]

RULES: list[dict] = [
    {
        "code": "zbdl-1980",
        "name": "招标代理服务收费",
        "basis": "《招标代理服务收费管理暂行办法》（计价格〔2002〕1980号）",
        "illustrative": False,
        "source_note": (
            "依据《招标代理服务收费管理暂行办法》（计价格〔2002〕1980号）及国家发展改革委其后"
            "关于调整最高收费限额的通知：按中标金额差额定率累进计费；可在标准上下浮动 20%；"
            "每个项目最高收费限额为工程招标 450 万元、货物招标 350 万元、服务招标 300 万元；"
            "仅编制招标文件（含标底）的按标准的 30% 收取。原文件中 10,000 万元以上的档次在此"
            "未收录，超出部分不作推算。自 2015 年起该项收费已放开实行市场调节价，本标准作为"
            "参考上限与降费率的测算基准。"
            " / Source: Interim Measures on Tendering Agency Service Fees (Ji Jia Ge [2002] "
            "No. 1980) and the later NDRC notice setting the maximum amounts. Market-regulated "
            "since 2015; published here as the reference ceiling and the benchmark for fee "
            "reductions. Brackets above 100 million yuan are not reproduced."
        ),
        "definition": {
            "version": 1,
            "method": "cumulative",
            "base": {"label_zh": "中标金额", "label_en": "Winning-bid amount", "unit": "yuan",
                     "display": "wan"},
            "categories": [
                {"code": "goods", "name_zh": "货物招标", "name_en": "Goods tendering",
                 "brackets": _brackets(_ZBDL_EDGES, ["1.5", "1.1", "0.8", "0.5", "0.25"]),
                 "cap": _y(350)},
                {"code": "services", "name_zh": "服务招标", "name_en": "Services tendering",
                 "brackets": _brackets(_ZBDL_EDGES, ["1.5", "0.8", "0.45", "0.25", "0.1"]),
                 "cap": _y(300)},
                {"code": "works", "name_zh": "工程招标", "name_en": "Works tendering",
                 "brackets": _brackets(_ZBDL_EDGES, ["1.0", "0.7", "0.55", "0.35", "0.2"]),
                 "cap": _y(450)},
            ],
            "coefficients": [
                {"code": "scope", "name_zh": "服务范围", "name_en": "Scope of service",
                 "default": "full",
                 "options": [
                     {"code": "full", "name_zh": "全过程招标代理", "name_en": "Full tendering agency",
                      "factor": "1.0"},
                     {"code": "docs", "name_zh": "仅编制招标文件（含标底）",
                      "name_en": "Drafting the tender documents only (with reserve price)",
                      "factor": "0.3"},
                 ]},
            ],
            "float": {"down_pct": "20", "up_pct": "20"},
        },
    },
    {
        "code": "eia-interp",
        "name": "建设项目环境影响评价收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按建设项目总投资内插计费，另按行业复杂程度与环境"
                       f"敏感程度调整，可上下浮动 20%。 / {ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "interpolation",
            "base": {"label_zh": "建设项目总投资", "label_en": "Total project investment"},
            "categories": [
                {"code": "report", "name_zh": "环境影响报告书", "name_en": "EIA report",
                 "points": _points([("3000", "6"), ("20000", "12"), ("100000", "25"),
                                    ("500000", "45")])},
                {"code": "form", "name_zh": "环境影响报告表", "name_en": "EIA report form",
                 "points": _points([("3000", "1.5"), ("20000", "3"), ("100000", "5"),
                                    ("500000", "8")])},
            ],
            "default_category": "report",
            "coefficients": [
                {"code": "industry", "name_zh": "行业复杂程度", "name_en": "Industry complexity",
                 "default": "general",
                 "options": [
                     {"code": "simple", "name_zh": "简单", "name_en": "Simple", "factor": "0.8"},
                     {"code": "general", "name_zh": "一般", "name_en": "General", "factor": "1.0"},
                     {"code": "complex", "name_zh": "复杂", "name_en": "Complex", "factor": "1.3"},
                 ]},
                {"code": "sensitivity", "name_zh": "环境敏感程度",
                 "name_en": "Environmental sensitivity", "default": "general",
                 "options": [
                     {"code": "general", "name_zh": "一般地区", "name_en": "Ordinary area",
                      "factor": "1.0"},
                     {"code": "sensitive", "name_zh": "敏感地区", "name_en": "Sensitive area",
                      "factor": "1.2"},
                     {"code": "special", "name_zh": "特别敏感地区",
                      "name_en": "Especially sensitive area", "factor": "1.5"},
                 ]},
            ],
            "float": {"down_pct": "20", "up_pct": "20"},
        },
    },
    {
        "code": "cost-consult-pct",
        "name": "工程造价咨询收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按工程造价的百分比计费，设最低与最高收费。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "percentage",
            "base": {"label_zh": "工程造价", "label_en": "Construction cost"},
            "categories": [
                {"code": "estimate", "name_zh": "投资估算编制", "name_en": "Investment estimate",
                 "rate_pct": "0.1", "minimum": "5000", "maximum": "500000"},
                {"code": "settlement", "name_zh": "竣工结算审核",
                 "name_en": "Final-account settlement audit",
                 "rate_pct": "0.5", "minimum": "10000", "maximum": "1500000"},
            ],
            "default_category": "estimate",
        },
    },
    {
        "code": "survey-fixed",
        "name": "竣工测量收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 每个项目定额收费，按地区类别调整。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "fixed",
            "categories": [
                {"code": "completion", "name_zh": "竣工测量", "name_en": "As-built survey",
                 "fee": "8000"},
            ],
            "coefficients": [
                {"code": "region", "name_zh": "地区类别", "name_en": "Region", "default": "plain",
                 "options": [
                     {"code": "plain", "name_zh": "平原", "name_en": "Plain", "factor": "1.0"},
                     {"code": "hilly", "name_zh": "丘陵", "name_en": "Hills", "factor": "1.2"},
                     {"code": "mountain", "name_zh": "山地", "name_en": "Mountains",
                      "factor": "1.5"},
                 ]},
            ],
        },
    },
    {
        "code": "safety-assess-interp",
        "name": "安全评价收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按项目总投资内插计费，按复杂程度调整，每个项目"
                       f"最高收费 45 万元。 / {ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "interpolation",
            "base": {"label_zh": "项目总投资", "label_en": "Total project investment"},
            "categories": [
                {"code": "pre", "name_zh": "安全预评价", "name_en": "Safety pre-assessment",
                 "points": _points([("500", "2"), ("5000", "5"), ("50000", "15"),
                                    ("500000", "40")])},
                {"code": "acceptance", "name_zh": "安全验收评价",
                 "name_en": "Safety acceptance assessment",
                 "points": _points([("500", "2.5"), ("5000", "6"), ("50000", "18"),
                                    ("500000", "42")])},
            ],
            "default_category": "pre",
            "coefficients": [
                {"code": "complexity", "name_zh": "复杂程度", "name_en": "Complexity",
                 "default": "general",
                 "options": [
                     {"code": "simple", "name_zh": "简单", "name_en": "Simple", "factor": "0.9"},
                     {"code": "general", "name_zh": "一般", "name_en": "General", "factor": "1.0"},
                     {"code": "complex", "name_zh": "复杂（危险化学品等）",
                      "name_en": "Complex (hazardous chemicals etc.)", "factor": "1.3"},
                 ]},
            ],
            "cap": _y(45),
        },
    },
    {
        "code": "water-sb-cumulative",
        "name": "水土保持方案编制收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按项目总投资差额定率累进计费。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "cumulative",
            "base": {"label_zh": "项目总投资", "label_en": "Total project investment"},
            "categories": [
                {"code": "report", "name_zh": "水土保持方案报告书",
                 "name_en": "Soil and water conservation plan",
                 "brackets": _brackets([1000, 5000, 20000, 100000, 500000],
                                       ["0.5", "0.3", "0.15", "0.08", "0.03"])},
            ],
        },
    },
    {
        "code": "energy-fixed",
        "name": "固定资产投资项目节能评估收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按评估文件类型定额收费，可上下浮动 10%。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "fixed",
            "categories": [
                {"code": "report", "name_zh": "节能评估报告书", "name_en": "Energy assessment report",
                 "fee": "30000"},
                {"code": "form", "name_zh": "节能评估报告表",
                 "name_en": "Energy assessment report form", "fee": "12000"},
            ],
            "default_category": "report",
            "float": {"down_pct": "10", "up_pct": "10"},
        },
    },
    {
        "code": "lightning-pct",
        "name": "防雷装置检测收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按防雷工程造价的百分比计费，设最低收费。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "percentage",
            "base": {"label_zh": "防雷工程造价", "label_en": "Lightning-protection works cost",
                     "display": "yuan"},
            "categories": [
                {"code": "inspection", "name_zh": "防雷装置检测",
                 "name_en": "Lightning-protection inspection", "rate_pct": "1.2",
                 "minimum": "1500"},
            ],
        },
    },
    {
        "code": "land-appraisal-cumulative",
        "name": "土地估价收费（示例）",
        "basis": "示例收费标准（演示用，非正式文件）",
        "illustrative": True,
        "source_note": f"{ILLUSTRATIVE_NOTE_ZH} 按评估总价差额定率累进计费，可上下浮动 20%。 / "
                       f"{ILLUSTRATIVE_NOTE_EN}",
        "definition": {
            "version": 1,
            "method": "cumulative",
            "base": {"label_zh": "评估总价", "label_en": "Appraised total value"},
            "categories": [
                {"code": "appraisal", "name_zh": "土地估价", "name_en": "Land appraisal",
                 "brackets": _brackets([100, 200, 1000, 2000, 5000, 10000, 50000],
                                       ["0.4", "0.3", "0.15", "0.08", "0.04", "0.02", "0.01"])},
            ],
            "float": {"down_pct": "20", "up_pct": "20"},
        },
    },
]

CODES = tuple(r["code"] for r in RULES)
