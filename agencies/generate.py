"""Realistic agency data (中介机构), shared by the demo (agencies/demo.py) and the bulk generator
(``manage.py generate_agencies``, used by bench/agencies.py).

Everything here is deterministic for a given ``random.Random``: the same seed gives the same
agencies. Names follow the Chinese pattern 行政区划 + 字号 + 行业 + 组织形式
(e.g. 曲靖瑞丰测绘地理信息有限公司); USCCs are minted with ``make_uscc`` (valid check
characters, not real entities); practitioners get valid 18-digit resident ID numbers
(GB 11643 check character) born 1962–1998 in the agency's county; certificates match the
qualification types of the agency's trade, with plausible numbers, issuing authorities and
five-year validity windows.

The bulk path (``bulk_generate``) writes with ``bulk_create`` only: no services, no signals,
no audit events, one transaction per batch. It is for benchmarks, not for real data."""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from marketplace.validators import USCC_CHARSET, make_uscc

# --- Reference lists ---------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤李杨张赵王刘"  # the commonest ones weigh double
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬斌辉鹏宇浩凯健俊帆"
    "雪琳晨欣晓文武建国志新海波云龙飞林峰春梅琴丹宁亮成坤东庆鑫德荣瑞祥"
)
# ~200 common two-character trade names (字号).
TRADE_NAMES = ["滇峰", "瑞丰", "鼎盛", "华信", "恒达", "宏远", "金诚", "正源", "天诚", "博远", "中勘", "泰和", "永安", "信达", "嘉禾", "联创", "同创", "精诚", "致远", "汇通", "荣昌", "安泰", "德馨", "鑫源", "金源", "兴达", "长城", "长江", "东方", "西南", "南方", "北辰", "星辰", "明德", "弘毅", "诚信", "诚德", "天和", "天泽", "天源", "地元", "地信", "云天", "云海", "云岭", "云峰", "彩云", "春城", "滇池", "洱海", "苍山", "玉龙", "金沙", "澜沧", "红土", "高原", "七彩", "翠湖", "金马", "碧鸡", "盘龙", "五华", "官渡", "西山", "呈贡", "螺蛳", "石林", "九乡", "抚仙", "星云", "普洱", "思茅", "大观", "正清", "清源", "青山", "绿洲", "碧水", "蓝天", "绿源", "环宇", "宇恒", "华宇", "中宇", "恒信", "恒通", "恒安", "恒泰", "恒丰", "恒源", "瑞达", "瑞通", "瑞博", "瑞泽", "瑞康", "瑞和", "瑞华", "瑞信", "睿智", "睿博", "博达", "博信", "博通", "博瑞", "博创", "创新", "创远", "创达", "远大", "远航", "远景", "远洋", "宏达", "宏信", "宏图", "宏泰", "宏基", "宏业", "鸿业", "鸿达", "鸿图", "鸿运", "鸿信", "鸿源", "金鼎", "金泰", "金桥", "金川", "金地", "银河", "银桥", "方圆", "方正", "正大", "正信", "正和", "正泰", "中正", "中和", "中信", "中诚", "中科", "中建", "中通", "中勤", "勤诚", "勤业", "立信", "立达", "立德", "立诚", "众诚", "众和", "众信", "众力", "众合", "合力", "合信", "合众", "协力", "协和", "同济", "同德", "同心", "同力", "同舟", "建业", "建华", "建科", "建设", "建信", "信诚", "信和", "信捷", "捷通", "通达", "通泰", "达安", "安信", "安和", "安康", "康达", "康泰", "泰安", "泰丰", "泰然", "丰源", "源通", "源泰", "新创", "新源", "新天", "新科", "科信", "科达", "科创", "科源", "卓越", "卓信", "卓然"]
STREETS = ["人民路", "北京路", "环城南路", "环城西路", "滇池路", "建设路", "金碧路", "青年路", "东风路", "白塔路", "春城路", "学府路", "龙泉路", "世纪大道", "迎宾路", "南屏街", "文化路", "振兴路", "团结路", "光明路", "新华路", "胜利路", "解放路", "民族路", "开发区大道"]
BUILDINGS = ("", "", "", "A座", "B座", "商务中心", "大厦", "写字楼")

# Prefecture short names used in company names, and how agencies are spread over them.
PREFECTURES: dict[str, tuple[str, float]] = {
    "530100": ("昆明", 35),
    "530300": ("曲靖", 8),
    "530400": ("玉溪", 6),
    "530500": ("保山", 4),
    "530600": ("昭通", 5),
    "530700": ("丽江", 3),
    "530800": ("普洱", 4),
    "530900": ("临沧", 3),
    "532300": ("楚雄", 5),
    "532500": ("红河", 7),
    "532600": ("文山", 4),
    "532800": ("西双版纳", 3),
    "532900": ("大理", 7),
    "533100": ("德宏", 3),
    "533300": ("怒江", 1.5),
    "533400": ("迪庆", 1.5),
}
SUFFIXES = (("有限公司", 70), ("有限责任公司", 22), ("股份有限公司", 8))


@dataclass(frozen=True)
class Profile:
    """A trade (行业方向) of agencies: the words in their names, the qualification types they
    hold ``(code, {level: weight} or None, probability)``, their practitioners' certificates
    and their business scope."""

    key: str
    words: tuple[str, ...]
    qualifications: tuple[tuple[str, dict | None, float], ...]
    practitioner_certificates: tuple[str, ...]
    scope: str
    weight: float


PROFILES: tuple[Profile, ...] = (
    Profile("eia", ("环境科技", "环保科技", "环境工程", "环境咨询"),
            (("eia-unit", None, 1.0), ("cma", None, 0.5)),
            ("环境影响评价工程师", "注册环保工程师"),
            "环境影响评价；环境监测；环保技术咨询；竣工环境保护验收监测。", 12),
    Profile("engineering", ("工程咨询", "工程技术咨询", "项目管理咨询"),
            (("engineering-consulting", {"甲级": 2, "乙级": 8}, 1.0),
             ("cost-consulting", None, 0.3)),
            ("咨询工程师（投资）", "一级造价工程师"),
            "工程咨询；项目可行性研究；项目申请报告编制；社会稳定风险评估；节能评估。", 10),
    Profile("surveying", ("测绘", "测绘地理信息", "地理信息技术"),
            (("surveying", {"甲级": 15, "乙级": 85}, 1.0),),
            ("注册测绘师",),
            "工程测量；不动产测绘；地籍测绘；规划核实测量；地理信息系统工程。", 10),
    Profile("safety", ("安全技术", "安全评价", "安全生产技术服务"),
            (("safety-assessment", {"甲级": 1, "乙级": 9}, 1.0),),
            ("安全评价师", "注册安全工程师"),
            "安全预评价；安全验收评价；安全现状评价；安全生产技术咨询与培训。", 8),
    Profile("cost", ("造价咨询", "工程造价咨询", "工程管理咨询"),
            (("cost-consulting", None, 1.0), ("tendering-agency", None, 0.4)),
            ("一级造价工程师", "二级造价工程师"),
            "工程造价咨询；投资估算、概算、预算编制；竣工结算审核；全过程造价控制。", 12),
    Profile("tendering", ("招标代理", "项目管理", "建设工程咨询"),
            (("tendering-agency", None, 1.0), ("cost-consulting", None, 0.5)),
            ("一级造价工程师", "一级建造师"),
            "工程、货物、服务招标代理；政府采购代理；工程项目管理。", 9),
    Profile("water", ("水利水电勘测设计", "水利水电工程咨询", "水土保持技术"),
            (("soil-water-plan", None, 1.0), ("water-resources-demonstration", None, 0.7),
             ("water-engineering-consulting", None, 0.5)),
            ("注册土木工程师（水利水电工程）", "水土保持工程师"),
            "水土保持方案编制；水资源论证；洪水影响评价；水利水电工程勘测设计。", 7),
    Profile("lightning", ("防雷检测", "防雷技术", "雷电防护技术"),
            (("lightning-testing", {"甲级": 2, "乙级": 8}, 1.0),
             ("meteorological-service", None, 0.3)),
            ("防雷工程专业技术人员",),
            "雷电防护装置检测；防雷装置设计技术评价；雷电灾害风险评估。", 6),
    Profile("meteorology", ("气象科技", "气象技术服务"),
            (("meteorological-service", None, 1.0), ("lightning-testing", {"乙级": 1}, 0.4)),
            ("气象工程师",),
            "气候可行性论证；雷电灾害风险评估；专业气象服务。", 3),
    Profile("fire", ("消防技术服务", "消防安全技术", "消防检测"),
            (("fire-technical-service", None, 1.0),),
            ("一级注册消防工程师", "二级注册消防工程师"),
            "消防设施维护保养检测；消防安全评估；消防技术咨询。", 8),
    Profile("land", ("土地评估", "土地房地产评估", "不动产评估"),
            (("land-appraisal", None, 1.0),),
            ("土地估价师", "房地产估价师"),
            "土地估价；房地产估价；土地登记代理；不动产咨询。", 6),
    Profile("geology", ("地质勘查", "地质工程勘察", "地质灾害防治工程"),
            (("geological-survey", None, 1.0),
             ("geohazard-assessment", {"甲级": 2, "乙级": 8}, 0.7)),
            ("注册土木工程师（岩土）", "地质工程师"),
            "地质勘查；地质灾害危险性评估；压覆矿产资源评估；岩土工程勘察。", 5),
    Profile("drawing-review", ("施工图审查", "建设工程施工图审查"),
            (("drawing-review", {"一类": 3, "二类": 7}, 1.0),),
            ("一级注册建筑师", "一级注册结构工程师"),
            "房屋建筑和市政基础设施工程施工图设计文件审查。", 2),
    Profile("testing", ("建设工程质量检测", "建筑工程检测", "工程检测"),
            (("quality-testing", {"综合资质": 15, "专项资质": 85}, 1.0),),
            ("注册土木工程师（岩土）", "检测工程师"),
            "建设工程质量检测；地基基础检测；主体结构检测；建筑材料检测。", 4),
)
PROFILE_BY_KEY = {p.key: p for p in PROFILES}

# Issuing authority by qualification type (and level where the level decides it).
AUTHORITIES: dict[str, str | dict[str, str]] = {
    "tendering-agency": "云南省住房和城乡建设厅",
    "cost-consulting": "云南省住房和城乡建设厅",
    "drawing-review": "云南省住房和城乡建设厅",
    "quality-testing": "云南省住房和城乡建设厅",
    "engineering-consulting": {"甲级": "国家发展和改革委员会", "乙级": "云南省发展和改革委员会"},
    "eia-unit": "生态环境部环境影响评价信用平台",
    "cma": "云南省市场监督管理局",
    "surveying": {"甲级": "自然资源部", "乙级": "云南省自然资源厅"},
    "geohazard-assessment": "云南省自然资源厅",
    "land-appraisal": "云南省自然资源厅",
    "geological-survey": "云南省自然资源厅",
    "safety-assessment": {"甲级": "应急管理部", "乙级": "云南省应急管理厅"},
    "soil-water-plan": "云南省水利厅",
    "water-resources-demonstration": "云南省水利厅",
    "water-engineering-consulting": "云南省水利厅",
    "lightning-testing": "云南省气象局",
    "meteorological-service": "云南省气象局",
    "fire-technical-service": "云南省消防救援总队",
}


def certificate_number(code: str, level: str, year: int, serial: int) -> str:
    """A plausible certificate number; ``serial`` makes it unique per type."""
    grade = level[:1] if level else ""
    formats = {
        "tendering-agency": f"滇招代登字{year}{serial:07d}号",
        "cost-consulting": f"滇造咨{year}{serial:07d}",
        "drawing-review": f"云建审字〔{year}〕第{serial:07d}号",
        "quality-testing": f"滇建检字{year}{serial:07d}",
        "engineering-consulting": f"{grade}{year % 100:02d}2053{serial:07d}",
        "eia-unit": f"HPXY53{year}{serial:07d}",
        "cma": f"{year % 100:02d}2553{serial:08d}",
        "surveying": f"{grade}测资字53{serial:08d}",
        "geohazard-assessment": f"{grade}地灾评资字53{year}{serial:07d}",
        "land-appraisal": f"53{year}{serial:07d}",
        "geological-survey": f"滇地勘{year}{serial:07d}",
        "safety-assessment": f"APJ-（滇）-{year}{serial:07d}",
        "soil-water-plan": f"水保方案（滇）字第{serial:07d}号",
        "water-resources-demonstration": f"水论证（滇）{year}-{serial:07d}",
        "water-engineering-consulting": f"滇水咨{year}{serial:07d}",
        "lightning-testing": f"滇雷检字〔{year}〕{grade}{serial:07d}",
        "meteorological-service": f"滇气服备{year}{serial:07d}",
        "fire-technical-service": f"滇消技服〔{year}〕{serial:07d}号",
    }
    return formats.get(code, f"{code.upper()}-{year}-{serial:07d}")


def authority_for(code: str, level: str) -> str:
    value = AUTHORITIES.get(code, "云南省人民政府政务服务管理局")
    if isinstance(value, dict):
        return value.get(level) or next(iter(value.values()))
    return value


# --- Small generators ------------------------------------------------------------------------


def weighted(rng: random.Random, pairs: Iterable[tuple[object, float]]):
    items = list(pairs)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2, 2))))
    return rng.choice(SURNAMES) + given


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def resident_id(rng: random.Random, county_code: str, *, today: datetime.date) -> str:
    """A valid 18-digit ID number: county, birth date 1962–1998, sequence, check char."""
    from agencies.validators import make_resident_id

    born = datetime.date(1962, 1, 1) + datetime.timedelta(days=rng.randrange(36 * 365))
    born = min(born, today - datetime.timedelta(days=22 * 365))
    return make_resident_id(f"{county_code}{born:%Y%m%d}{rng.randrange(1000):03d}")


_ORG_BODY_CHARS = USCC_CHARSET[:30]  # the organisation-code body allows the USCC alphabet


def uscc_for(rng: random.Random, county_code: str) -> str:
    """91 (工商 · enterprise) + county code + organisation code + check characters. Most
    companies registered since 2015 have an 'MA…' body; older ones a converted 8-digit code."""
    if rng.random() < 0.7:
        body = "MA" + "".join(rng.choice(_ORG_BODY_CHARS) for _ in range(6))
    else:
        body = f"{rng.randrange(10**8):08d}"
    return make_uscc(f"91{county_code}{body}")


@dataclass
class CertificateSpec:
    code: str
    level: str
    valid_from: datetime.date
    valid_until: datetime.date
    status: str  # valid / expiring / expired
    year: int


@dataclass
class AgencySpec:
    """One agency to create, before anything is written."""

    name: str
    uscc: str
    county_code: str
    profile: Profile
    legal_representative: str
    contact_name: str
    contact_phone: str
    contact_email: str
    address: str
    certificates: list[CertificateSpec] = field(default_factory=list)
    practitioners: list[tuple[str, str, list[dict]]] = field(default_factory=list)


class Counties:
    """Yunnan's counties grouped by prefecture, with city districts weighted up."""

    def __init__(self, regions: Iterable):
        self.by_prefecture: dict[str, list[tuple[str, str, float]]] = {}
        self.names: dict[str, str] = {}
        for region in regions:
            self.names[region.code] = region.name
            if region.level == "county" and region.prefecture_code in PREFECTURES:
                weight = 3.0 if region.kind == "市辖区" else 1.0
                self.by_prefecture.setdefault(region.prefecture_code, []).append(
                    (region.code, region.name, weight)
                )
        if not self.by_prefecture:
            raise RuntimeError("Yunnan's regions are not loaded: run manage.py load_regions")

    @classmethod
    def load(cls) -> Counties:
        from marketplace.models import Region

        return cls(Region.objects.filter(province_code="530000").only(
            "code", "name", "level", "kind", "prefecture_code"
        ))

    def pick(self, rng: random.Random) -> tuple[str, str]:
        prefectures = [p for p in PREFECTURES if p in self.by_prefecture]
        prefecture = weighted(rng, ((p, PREFECTURES[p][1]) for p in prefectures))
        counties = self.by_prefecture[prefecture]
        code = weighted(rng, ((c, w) for c, _, w in counties))
        return prefecture, code


class SpecFactory:
    """Builds ``AgencySpec``s. ``taken_names`` / ``taken_usccs`` hold what exists already
    (in the database and earlier in this run): new ones never collide with them."""

    def __init__(
        self,
        rng: random.Random,
        counties: Counties,
        *,
        today: datetime.date,
        taken_names: set[str] | None = None,
        taken_usccs: set[str] | None = None,
        name_suffix: str = "",
    ):
        self.rng, self.counties, self.today = rng, counties, today
        self.taken_names = taken_names if taken_names is not None else set()
        self.taken_usccs = taken_usccs if taken_usccs is not None else set()
        self.name_suffix = name_suffix

    def _name(self, prefecture: str, profile: Profile) -> str:
        rng = self.rng
        short = PREFECTURES[prefecture][0]
        for attempt in range(60):
            place = "云南" if (prefecture == "530100" and rng.random() < 0.45) else short
            trade = rng.choice(TRADE_NAMES)
            if attempt >= 20:  # the common names are taken: a four-character 字号
                trade += rng.choice(TRADE_NAMES)
            name = (
                f"{place}{trade}{rng.choice(profile.words)}{weighted(rng, SUFFIXES)}"
                f"{self.name_suffix}"
            )
            if name not in self.taken_names:
                self.taken_names.add(name)
                return name
        raise RuntimeError("could not find a free agency name")

    def _uscc(self, county: str) -> str:
        while True:
            code = uscc_for(self.rng, county)
            if code not in self.taken_usccs:
                self.taken_usccs.add(code)
                return code

    def certificate(self, code: str, levels: dict | None, state: str) -> CertificateSpec:
        """A five-year certificate in ``state``: valid (> 45 days left), expiring (1–30 days
        left) or expired (ended 1–400 days ago)."""
        rng, today = self.rng, self.today
        level = weighted(rng, levels.items()) if levels else ""
        if state == "expiring":
            until = today + datetime.timedelta(days=rng.randint(1, 30))
        elif state == "expired":
            until = today - datetime.timedelta(days=rng.randint(1, 400))
        else:
            until = today + datetime.timedelta(days=rng.randint(46, 5 * 365 - 30))
        start = until - datetime.timedelta(days=5 * 365 - 1)
        return CertificateSpec(code, level, start, until, state, start.year)

    def build(self, *, profile: Profile | None = None, cert_state: str = "valid",
              practitioners: int | None = None) -> AgencySpec:
        rng = self.rng
        profile = profile or weighted(rng, ((p, p.weight) for p in PROFILES))
        prefecture, county = self.counties.pick(rng)
        name = self._name(prefecture, profile)
        uscc = self._uscc(county)
        prefecture_name = self.counties.names.get(prefecture, "")
        county_name = self.counties.names.get(county, "")
        address = (
            f"云南省{prefecture_name}{county_name}{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            f"{rng.choice(BUILDINGS)}"
        )
        if rng.random() < 0.5:
            address += f"{rng.randint(2, 28)}楼{rng.randint(1, 20):02d}室"
        legal = person_name(rng)
        contact = legal if rng.random() < 0.3 else person_name(rng)
        spec = AgencySpec(
            name=name,
            uscc=uscc,
            county_code=county,
            profile=profile,
            legal_representative=legal,
            contact_name=contact,
            contact_phone=mobile(rng),
            contact_email=f"office.{uscc[-8:].lower()}@agency.example.com",
            address=address,
        )
        first = True
        for code, levels, probability in profile.qualifications:
            if first or rng.random() < probability:
                # The main certificate carries the requested state; the others are valid.
                spec.certificates.append(
                    self.certificate(code, levels, cert_state if first else "valid")
                )
            first = False
        count = practitioners if practitioners is not None else rng.randint(2, 5)
        ids: set[str] = set()
        for _ in range(count):
            id_number = resident_id(rng, county, today=self.today)
            if id_number in ids:  # once per agency (a constraint); vanishingly rare
                continue
            ids.add(id_number)
            certs = [
                {
                    "name": rng.choice(profile.practitioner_certificates),
                    "number": f"{rng.choice('ABCDEFGH')}{rng.randint(2005, 2024)}53"
                    f"{rng.randrange(10**6):06d}",
                }
            ]
            spec.practitioners.append((person_name(rng), id_number, certs))
        return spec


# --- Catalog: which items an agency's certificates qualify it for ---------------------------


class Catalog:
    """The live service items with their requirements, as plain data (two queries)."""

    def __init__(self):
        from cms.models import QualificationRequirement, ServiceItemPage
        from marketplace.models import QualificationType

        self.types = {t.code: t for t in QualificationType.objects.all()}
        by_id = {t.pk: t for t in self.types.values()}
        self.items = {i.pk: i for i in ServiceItemPage.objects.live().select_related("fee_rule")}
        self.requirements: dict[int, list[tuple[str, str]]] = {pk: [] for pk in self.items}
        self._memo: dict[frozenset, tuple[int, ...]] = {}
        for req in QualificationRequirement.objects.filter(item_id__in=list(self.items)):
            qtype = by_id.get(getattr(req, "qualification_id", None))
            if qtype is None:  # before the FK existed: the type was named in text
                text = getattr(req, "qualification_type", "")
                qtype = next((t for t in self.types.values() if t.name == text), None)
            if qtype is not None:
                self.requirements[req.item_id].append((qtype.code, req.minimum_level))

    def qualified_items(self, certificates: Iterable[CertificateSpec], *,
                        usable_only: bool = True) -> list[int]:
        held = [c for c in certificates if not usable_only or c.status != "expired"]
        key = frozenset((c.code, c.level) for c in held)
        cached = self._memo.get(key)
        if cached is not None:
            return list(cached)
        out = []
        for pk, reqs in sorted(self.requirements.items()):
            if not reqs:
                continue  # items without requirements are not anybody's trade
            if all(
                any(c.code == code and self.types[code].meets(c.level, minimum) for c in held)
                for code, minimum in reqs
            ):
                out.append(pk)
        self._memo[key] = tuple(out)
        return out


# --- Bulk generation -------------------------------------------------------------------------

# Enrolment states of generated agencies (mostly approved, as on a live platform).
BULK_STATUS_MIX = (
    ("approved", 85), ("submitted", 6), ("returned", 2), ("draft", 3), ("suspended", 3),
    ("withdrawn", 1),
)


# Credit grades of generated agencies that have been approved (approved or suspended): most
# rated B, some unrated; the others are unrated (blank grade, no score). The score lies in the
# grade's band (A 90–100, B 80–89.99, C 65–79.99, D 40–64.99), so ordering by score orders by
# grade too.
BULK_CREDIT_MIX = (("A", 18), ("B", 38), ("C", 16), ("D", 5), ("", 23))
CREDIT_BANDS = {"A": (90, 100), "B": (80, 89.99), "C": (65, 79.99), "D": (40, 64.99)}


def credit_for(rng: random.Random, status: str):
    """(credit_grade, credit_score) of a generated agency: a spread for the search facet and
    the credit sort (the ratings app computes real ones)."""
    from decimal import Decimal

    if status not in ("approved", "suspended"):
        return "", None
    grade = weighted(rng, BULK_CREDIT_MIX)
    if not grade:
        return "", None
    low, high = CREDIT_BANDS[grade]
    return grade, Decimal(rng.randint(int(low * 100), int(high * 100))) / 100


@dataclass
class BulkResult:
    agencies: int = 0
    rows: int = 0
    seconds: float = 0.0
    rows_by_table: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def agencies_per_second(self) -> float:
        return self.agencies / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "agencies": self.agencies,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
            "rows_per_second": round(self.rows_per_second),
            "agencies_per_second": round(self.agencies_per_second),
            "rows_by_table": self.rows_by_table,
        }


def bulk_generate(
    count: int,
    *,
    seed: int = 1,
    batch: int = 5000,
    practitioners: int = 2,
    today: datetime.date | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> BulkResult:
    """Insert ``count`` agencies with bulk_create, one transaction per batch. Names and USCCs
    never collide with existing organisations (they are read once, up front), so the command
    can run again on the same database, with the same seed or another. Approved and suspended
    agencies get a spread of credit grades and scores (``credit_for``), from a stream of their
    own, so the rest of a seed's data is as before."""
    from django.db import transaction
    from django.utils import timezone

    from agencies.models import (
        Agency,
        AgencyServiceItem,
        Practitioner,
        QualificationCertificate,
    )
    from marketplace.models import Organisation, OrganisationKind

    started = time.perf_counter()
    today = today or timezone.localdate()
    now = timezone.now()
    rng = random.Random(seed)
    # Credit comes from its own stream, so adding it left the other fields of a seed unchanged.
    credit_rng = random.Random(f"credit:{seed}")
    counties = Counties.load()
    catalog = Catalog()
    existing = Organisation.objects.values_list("name", "uscc")
    factory = SpecFactory(
        rng,
        counties,
        today=today,
        taken_names={n for n, _ in existing},
        taken_usccs={u for _, u in existing if u},
    )
    type_ids = {code: t.pk for code, t in catalog.types.items()}
    # Certificate numbers are unique per type: continue after the largest serial in use.
    serial = QualificationCertificate.objects.count() + 1
    result = BulkResult()
    tables = {"organisation": 0, "agency": 0, "certificate": 0, "practitioner": 0,
              "declared_item": 0}

    done = 0
    while done < count:
        size = min(batch, count - done)
        specs, statuses = [], []
        for _ in range(size):
            status = weighted(rng, BULK_STATUS_MIX)
            cert_state = "expired" if status == "suspended" else weighted(
                rng, (("valid", 93), ("expiring", 7))
            )
            specs.append(factory.build(cert_state=cert_state, practitioners=practitioners))
            statuses.append(status)
        with transaction.atomic():
            orgs = Organisation.objects.bulk_create(
                [
                    Organisation(
                        kind=OrganisationKind.AGENCY, name=s.name, uscc=s.uscc,
                        region_id=s.county_code,
                    )
                    for s in specs
                ],
                batch_size=batch,
            )
            agencies = []
            for s, org, status in zip(specs, orgs, statuses, strict=True):
                submitted = (
                    now - datetime.timedelta(days=rng.randint(0, 60), minutes=rng.randrange(1440))
                    if status != "draft" else None
                )
                credit_grade, credit_score = credit_for(credit_rng, status)
                agencies.append(
                    Agency(
                        organisation_id=org.pk,
                        legal_representative=s.legal_representative,
                        registered_address=s.address,
                        contact_name=s.contact_name,
                        contact_phone=s.contact_phone,
                        contact_email=s.contact_email,
                        business_scope=s.profile.scope,
                        commitment_accepted_at=submitted,
                        status=status,  # in the constructor: FSMField(protected=True)
                        submitted_at=submitted,
                        approved_at=(
                            submitted + datetime.timedelta(days=rng.randint(1, 10))
                            if status in ("approved", "suspended") else None
                        ),
                        status_reason=(
                            "资质证书已过期，暂停至上传有效证书并重新审核通过。"
                            if status == "suspended"
                            else "机构申请撤回入驻。" if status == "withdrawn" else ""
                        ),
                        credit_grade=credit_grade,
                        credit_score=credit_score,
                    )
                )
            agencies = Agency.objects.bulk_create(agencies, batch_size=batch)
            certs, people, declared = [], [], []
            for s, agency in zip(specs, agencies, strict=True):
                for c in s.certificates:
                    certs.append(
                        QualificationCertificate(
                            agency_id=agency.pk,
                            qualification_type_id=type_ids[c.code],
                            level=c.level,
                            certificate_number=certificate_number(c.code, c.level, c.year, serial),
                            issuing_authority=authority_for(c.code, c.level),
                            valid_from=c.valid_from,
                            valid_until=c.valid_until,
                            status=c.status,
                        )
                    )
                    serial += 1
                for name, id_number, prof in s.practitioners:
                    people.append(
                        Practitioner(
                            agency_id=agency.pk, name=name, id_number=id_number,
                            professional_certificates=prof,
                        )
                    )
                for item_id in catalog.qualified_items(s.certificates, usable_only=False):
                    declared.append(AgencyServiceItem(agency_id=agency.pk, service_item_id=item_id))
            QualificationCertificate.objects.bulk_create(certs, batch_size=batch)
            Practitioner.objects.bulk_create(people, batch_size=batch)
            AgencyServiceItem.objects.bulk_create(declared, batch_size=batch)
        for key, n in (("organisation", len(orgs)), ("agency", len(agencies)),
                       ("certificate", len(certs)), ("practitioner", len(people)),
                       ("declared_item", len(declared))):
            tables[key] += n
        done += size
        if progress:
            progress(done, count, time.perf_counter() - started)

    result.agencies = done
    result.rows_by_table = tables
    result.rows = sum(tables.values())
    result.seconds = time.perf_counter() - started
    return result
