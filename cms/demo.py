# ruff: noqa: C408  (the item table reads best as dict(key=value) rows)
"""The demo catalog (中介服务事项清单), notices and policy pages.

``load_catalog()`` is idempotent: it creates what is missing and leaves existing pages alone
(editors may have changed them through moderation since). Every page is published through a
revision, so the demo's pages have the history an edited page would have.

Honesty about the content: item names, the approval matters they serve, the laws and articles
cited are real as far as the author is confident (where an article number was not certain it is
left out). Item codes, time limits and the wording of the summaries are demo values, and items are
flagged ``illustrative`` unless their fee standard and legal basis are the real published ones.
Notices are demo text; policy pages summarise real documents in our own words and link the
reader to the issuing authority for the authoritative text.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from wagtail.models import Page, Site

from cms.models import (
    ApprovalMatter,
    CatalogIndexPage,
    HomePage,
    IndustryPage,
    LegalBasis,
    NoticeIndexPage,
    NoticePage,
    PolicyIndexPage,
    PolicyPage,
    QualificationRequirement,
    ServiceItemPage,
)
from cms.moderation import DEMO_EDITOR_EMAIL, DEMO_REVIEWER_EMAIL, ensure_demo_moderators

logger = logging.getLogger(__name__)

DEMO_MODERATOR_PASSWORD = "demo-cms-2025"
CODE_PREFIX = "YN-ZJ-"
MARKET_PRICE = "本事项无政府定价收费标准，实行市场调节价，由委托双方协商确定。"

# Each item: (industry, name, department, days, fee rule code or None, fee category,
#   approval matters [(name, approving department)], legal bases [(law, article, doc no)],
#   qualifications [(type, minimum level, note)], illustrative, summary)
ITEMS: list[dict] = [
    # --- 住房和城乡建设 ---
    dict(
        industry="construction",
        name="建设工程招标代理（工程招标）",
        department="住房和城乡建设部门",
        days=20,
        rule="zbdl-1980",
        category="works",
        matters=[("房屋建筑和市政基础设施工程施工许可", "住房和城乡建设部门")],
        laws=[
            ("《中华人民共和国招标投标法》", "第十二条", ""),
            ("《中华人民共和国招标投标法》", "第十三条", ""),
        ],
        quals=[("招标代理机构", "", "招标代理机构资格认定已取消，须在公共资源交易平台登记信息")],
        illustrative=False,
        summary="受招标人委托，编制招标文件、发布招标公告、组织开标评标并协助确定中标人。",
        fee_basis="《招标代理服务收费管理暂行办法》（计价格〔2002〕1980号）；现行实行市场调节价，该标准作为参考上限。",
    ),
    dict(
        industry="construction",
        name="工程造价咨询（投资估算编制）",
        department="住房和城乡建设部门",
        days=15,
        rule="cost-consult-pct",
        category="estimate",
        matters=[("政府投资项目可行性研究报告审批", "发展和改革部门")],
        laws=[("《政府投资条例》", "第九条", "国务院令第712号")],
        quals=[("工程造价咨询企业", "", "资质已取消，按信用管理；须配备一级造价工程师")],
        illustrative=True,
        summary="编制建设项目投资估算，作为可行性研究报告的组成部分。",
    ),
    dict(
        industry="construction",
        name="工程造价咨询（竣工结算审核）",
        department="住房和城乡建设部门",
        days=20,
        rule="cost-consult-pct",
        category="settlement",
        matters=[("政府投资项目竣工财务决算审批", "财政部门")],
        laws=[("《建设工程价款结算暂行办法》", "", "财建〔2004〕369号")],
        quals=[("工程造价咨询企业", "", "须配备一级造价工程师")],
        illustrative=True,
        summary="对施工单位报送的竣工结算进行审核，出具结算审核报告。",
    ),
    dict(
        industry="construction",
        name="施工图设计文件审查",
        department="住房和城乡建设部门",
        days=15,
        rule=None,
        matters=[("房屋建筑和市政基础设施工程施工许可", "住房和城乡建设部门")],
        laws=[
            ("《建设工程质量管理条例》", "第十一条", "国务院令第279号"),
            (
                "《房屋建筑和市政基础设施工程施工图设计文件审查管理办法》",
                "",
                "住房和城乡建设部令第13号",
            ),
        ],
        quals=[("施工图审查机构", "二类", "审查大型房屋建筑工程须为一类机构")],
        illustrative=True,
        summary="对施工图涉及公共利益、公众安全和工程建设强制性标准的内容进行审查。",
    ),
    dict(
        industry="construction",
        name="建设工程质量检测",
        department="住房和城乡建设部门",
        days=10,
        rule=None,
        matters=[("房屋建筑和市政基础设施工程竣工验收备案", "住房和城乡建设部门")],
        laws=[("《建设工程质量检测管理办法》", "", "住房和城乡建设部令第57号")],
        quals=[("建设工程质量检测机构资质", "专项资质", "")],
        illustrative=True,
        summary="对建设工程材料、构配件和工程实体质量进行检测，出具检测报告。",
    ),
    # --- 发展和改革 ---
    dict(
        industry="development",
        name="服务招标代理",
        department="发展和改革部门",
        days=20,
        rule="zbdl-1980",
        category="services",
        matters=[("依法必须招标项目招标方案核准", "发展和改革部门")],
        laws=[("《中华人民共和国招标投标法》", "第十二条", "")],
        quals=[("招标代理机构", "", "须在公共资源交易平台登记信息")],
        illustrative=False,
        summary="受招标人委托，办理勘察、设计、监理等服务类项目的招标事宜。",
        fee_basis="《招标代理服务收费管理暂行办法》（计价格〔2002〕1980号）；现行实行市场调节价，该标准作为参考上限。",
    ),
    dict(
        industry="development",
        name="货物招标代理",
        department="发展和改革部门",
        days=20,
        rule="zbdl-1980",
        category="goods",
        matters=[("依法必须招标项目招标方案核准", "发展和改革部门")],
        laws=[("《中华人民共和国招标投标法》", "第十二条", "")],
        quals=[("招标代理机构", "", "须在公共资源交易平台登记信息")],
        illustrative=False,
        summary="受招标人委托，办理设备、材料等货物的招标事宜。",
        fee_basis="《招标代理服务收费管理暂行办法》（计价格〔2002〕1980号）；现行实行市场调节价，该标准作为参考上限。",
    ),
    dict(
        industry="development",
        name="节能评估报告编制",
        department="发展和改革部门",
        days=15,
        rule="energy-fixed",
        category="report",
        matters=[("固定资产投资项目节能审查", "发展和改革部门")],
        laws=[("《中华人民共和国节约能源法》", "第十五条", "")],
        quals=[("工程咨询单位", "乙级", "工程咨询单位资信评价等级")],
        illustrative=True,
        summary="分析项目能源消费和能效水平，提出节能措施，编制节能评估报告。",
    ),
    dict(
        industry="development",
        name="项目可行性研究报告编制",
        department="发展和改革部门",
        days=30,
        rule=None,
        matters=[("政府投资项目可行性研究报告审批", "发展和改革部门")],
        laws=[("《政府投资条例》", "第九条", "国务院令第712号")],
        quals=[("工程咨询单位", "乙级", "工程咨询单位资信评价等级")],
        illustrative=True,
        summary="对项目建设必要性、技术经济可行性、社会效益进行分析论证。",
    ),
    dict(
        industry="development",
        name="项目申请报告编制",
        department="发展和改革部门",
        days=20,
        rule=None,
        matters=[("企业投资项目核准", "发展和改革部门")],
        laws=[("《企业投资项目核准和备案管理条例》", "", "国务院令第673号")],
        quals=[("工程咨询单位", "", "企业可自行编制，也可委托")],
        illustrative=True,
        summary="编制企业投资项目申请报告，说明项目对外部性、公共性事项的影响。",
    ),
    dict(
        industry="development",
        name="社会稳定风险评估报告编制",
        department="发展和改革部门",
        days=20,
        rule=None,
        matters=[("重大固定资产投资项目审批、核准", "发展和改革部门")],
        laws=[
            (
                "《国家发展改革委重大固定资产投资项目社会稳定风险评估暂行办法》",
                "",
                "发改投资〔2012〕2492号",
            )
        ],
        quals=[("工程咨询单位", "", "")],
        illustrative=True,
        summary="调查分析项目可能引发的社会稳定风险，提出防范化解措施。",
    ),
    # --- 生态环境 ---
    dict(
        industry="ecology",
        name="建设项目环境影响报告书编制",
        department="生态环境部门",
        days=30,
        rule="eia-interp",
        category="report",
        matters=[("建设项目环境影响评价文件审批", "生态环境部门")],
        laws=[
            ("《中华人民共和国环境影响评价法》", "第十六条", ""),
            ("《中华人民共和国环境影响评价法》", "第十九条", ""),
        ],
        quals=[
            (
                "环境影响评价单位",
                "",
                "资质已取消，须在环境影响评价信用平台登记，编制主持人为环评工程师",
            )
        ],
        illustrative=True,
        summary="对可能造成重大环境影响的建设项目进行全面评价，编制环境影响报告书。",
    ),
    dict(
        industry="ecology",
        name="建设项目环境影响报告表编制",
        department="生态环境部门",
        days=20,
        rule="eia-interp",
        category="form",
        matters=[("建设项目环境影响评价文件审批", "生态环境部门")],
        laws=[("《中华人民共和国环境影响评价法》", "第十六条", "")],
        quals=[("环境影响评价单位", "", "须在环境影响评价信用平台登记")],
        illustrative=True,
        summary="对可能造成轻度环境影响的建设项目进行分析评价，编制环境影响报告表。",
    ),
    dict(
        industry="ecology",
        name="建设项目竣工环境保护验收监测",
        department="生态环境部门",
        days=20,
        rule=None,
        matters=[("建设项目竣工环境保护验收（建设单位自主验收）", "建设单位")],
        laws=[("《建设项目环境保护管理条例》", "第十七条", "国务院令第682号")],
        quals=[("检验检测机构资质认定（CMA）", "", "")],
        illustrative=True,
        summary="对配套建设的环境保护设施进行监测，编制验收监测报告。",
    ),
    # --- 自然资源 ---
    dict(
        industry="natural-resources",
        name="建设项目竣工验收测量（规划核实测量）",
        department="自然资源部门",
        days=10,
        rule="survey-fixed",
        category="completion",
        matters=[("建设工程规划条件核实", "自然资源部门")],
        laws=[
            ("《中华人民共和国城乡规划法》", "第四十五条", ""),
            ("《中华人民共和国测绘法》", "第二十七条", ""),
        ],
        quals=[("测绘资质", "乙级", "专业范围含工程测量")],
        illustrative=True,
        summary="对竣工建设工程的平面位置、高度、面积等进行测量，出具规划核实测量成果。",
    ),
    dict(
        industry="natural-resources",
        name="房产测绘",
        department="自然资源部门",
        days=10,
        rule="survey-fixed",
        category="completion",
        matters=[("不动产首次登记", "自然资源部门（不动产登记机构）")],
        laws=[("《中华人民共和国测绘法》", "第二十七条", "")],
        quals=[("测绘资质", "乙级", "专业范围含不动产测绘")],
        illustrative=True,
        summary="测量房屋建筑面积和共有分摊面积，出具房产测绘成果报告。",
    ),
    dict(
        industry="natural-resources",
        name="建设用地勘测定界",
        department="自然资源部门",
        days=10,
        rule="survey-fixed",
        category="completion",
        matters=[("建设用地审批", "自然资源部门")],
        laws=[("《中华人民共和国土地管理法》", "", "")],
        quals=[("测绘资质", "乙级", "")],
        illustrative=True,
        summary="实地界定建设用地范围，测定界址、计算面积，编制勘测定界报告。",
    ),
    dict(
        industry="natural-resources",
        name="地质灾害危险性评估",
        department="自然资源部门",
        days=30,
        rule=None,
        matters=[("建设项目用地预审与选址意见书核发", "自然资源部门")],
        laws=[("《地质灾害防治条例》", "第二十一条", "国务院令第394号")],
        quals=[("地质灾害危险性评估单位资质", "乙级", "")],
        illustrative=True,
        summary="在地质灾害易发区内进行工程建设的，于可行性研究阶段评估地质灾害危险性。",
    ),
    dict(
        industry="natural-resources",
        name="土地估价",
        department="自然资源部门",
        days=10,
        rule="land-appraisal-cumulative",
        category="appraisal",
        matters=[("国有建设用地使用权出让", "自然资源部门")],
        laws=[
            ("《中华人民共和国城市房地产管理法》", "第三十四条", ""),
            ("《中华人民共和国资产评估法》", "", ""),
        ],
        quals=[("土地估价机构备案", "", "须有两名以上土地估价师")],
        illustrative=True,
        summary="评估土地使用权价格，出具土地估价报告，作为出让底价决策依据。",
    ),
    dict(
        industry="natural-resources",
        name="压覆重要矿产资源评估",
        department="自然资源部门",
        days=20,
        rule=None,
        matters=[("建设项目压覆重要矿产资源审批", "自然资源部门")],
        laws=[("《中华人民共和国矿产资源法》", "", "")],
        quals=[("地质勘查单位", "", "")],
        illustrative=True,
        summary="查明建设项目拟占地范围内重要矿产资源压覆情况，编制评估报告。",
    ),
    # --- 应急管理 ---
    dict(
        industry="emergency",
        name="安全预评价",
        department="应急管理部门",
        days=20,
        rule="safety-assess-interp",
        category="pre",
        matters=[("危险化学品建设项目安全条件审查", "应急管理部门")],
        laws=[("《中华人民共和国安全生产法》", "第三十二条", "")],
        quals=[("安全评价机构资质", "乙级", "")],
        illustrative=True,
        summary="在项目可行性研究阶段辨识危险有害因素，提出安全对策措施，编制安全预评价报告。",
    ),
    dict(
        industry="emergency",
        name="安全验收评价",
        department="应急管理部门",
        days=20,
        rule="safety-assess-interp",
        category="acceptance",
        matters=[("危险化学品建设项目安全设施竣工验收", "建设单位（应急管理部门监督核查）")],
        laws=[("《中华人民共和国安全生产法》", "第三十四条", "")],
        quals=[("安全评价机构资质", "乙级", "")],
        illustrative=True,
        summary="对建设项目安全设施与主体工程同时投入使用情况进行评价，编制安全验收评价报告。",
    ),
    dict(
        industry="emergency",
        name="安全现状评价",
        department="应急管理部门",
        days=20,
        rule="safety-assess-interp",
        category="pre",
        matters=[("危险化学品安全生产许可证延期", "应急管理部门")],
        laws=[("《危险化学品安全管理条例》", "", "国务院令第591号")],
        quals=[("安全评价机构资质", "乙级", "")],
        illustrative=True,
        summary="对生产经营单位的安全生产现状进行评价，编制安全现状评价报告。",
    ),
    # --- 水利 ---
    dict(
        industry="water",
        name="水土保持方案编制",
        department="水行政主管部门",
        days=20,
        rule="water-sb-cumulative",
        category="report",
        matters=[("生产建设项目水土保持方案审批", "水行政主管部门")],
        laws=[("《中华人民共和国水土保持法》", "第二十五条", "")],
        quals=[("水土保持方案编制单位", "", "水平评价已取消，实行信用监管")],
        illustrative=True,
        summary="对生产建设项目可能造成的水土流失进行预测，提出防治措施，编制水土保持方案。",
    ),
    dict(
        industry="water",
        name="建设项目水资源论证报告编制",
        department="水行政主管部门",
        days=20,
        rule=None,
        matters=[("取水许可", "水行政主管部门")],
        laws=[("《取水许可和水资源费征收管理条例》", "", "国务院令第460号")],
        quals=[("水资源论证单位", "", "实行信用监管")],
        illustrative=True,
        summary="论证建设项目取用水的合理性和可靠性，编制水资源论证报告。",
    ),
    dict(
        industry="water",
        name="洪水影响评价报告编制",
        department="水行政主管部门",
        days=20,
        rule=None,
        matters=[("河道管理范围内建设项目工程建设方案审批", "水行政主管部门")],
        laws=[("《中华人民共和国防洪法》", "第二十七条", "")],
        quals=[("水利工程咨询单位", "", "")],
        illustrative=True,
        summary="评价建设项目对防洪安全和河势稳定的影响，提出防治措施。",
    ),
    # --- 气象 ---
    dict(
        industry="meteorology",
        name="防雷装置检测",
        department="气象主管机构",
        days=7,
        rule="lightning-pct",
        category="inspection",
        matters=[("雷电防护装置竣工验收", "气象主管机构")],
        laws=[("《气象灾害防御条例》", "第二十三条", "国务院令第570号")],
        quals=[("雷电防护装置检测资质", "乙级", "")],
        illustrative=True,
        summary="对建（构）筑物雷电防护装置的性能进行检测，出具检测报告。",
    ),
    dict(
        industry="meteorology",
        name="防雷装置设计技术评价",
        department="气象主管机构",
        days=7,
        rule=None,
        matters=[("雷电防护装置设计审核", "气象主管机构")],
        laws=[("《国务院对确需保留的行政审批项目设定行政许可的决定》", "", "国务院令第412号")],
        quals=[("雷电防护装置检测资质", "乙级", "")],
        illustrative=True,
        summary="对雷电防护装置设计文件进行技术评价，出具技术评价报告。",
    ),
    dict(
        industry="meteorology",
        name="雷电灾害风险评估",
        department="气象主管机构",
        days=15,
        rule=None,
        matters=[("雷电防护装置设计审核", "气象主管机构")],
        laws=[("《气象灾害防御条例》", "", "国务院令第570号")],
        quals=[("气象服务机构", "", "")],
        illustrative=True,
        summary="对大型建设工程、重点工程所在区域的雷电灾害风险进行评估。",
    ),
    dict(
        industry="meteorology",
        name="气候可行性论证",
        department="气象主管机构",
        days=30,
        rule=None,
        matters=[("规划和建设项目气候可行性论证意见", "气象主管机构")],
        laws=[("《中华人民共和国气象法》", "第三十四条", "")],
        quals=[("气象服务机构", "", "")],
        illustrative=True,
        summary="对规划和重大建设项目与气候条件的适宜性、风险性进行分析论证。",
    ),
    # --- 消防救援 ---
    dict(
        industry="fire",
        name="消防设施检测",
        department="消防救援机构",
        days=10,
        rule=None,
        matters=[("公众聚集场所投入使用、营业前消防安全检查", "消防救援机构")],
        laws=[
            ("《中华人民共和国消防法》", "第十六条", ""),
            ("《中华人民共和国消防法》", "第三十四条", ""),
        ],
        quals=[
            ("消防技术服务机构", "", "资质已取消，须符合从业条件并在社会消防技术服务信息系统登记")
        ],
        illustrative=True,
        summary="对建筑消防设施进行全面检测，出具消防设施检测报告。",
    ),
    dict(
        industry="fire",
        name="消防安全评估",
        department="消防救援机构",
        days=15,
        rule=None,
        matters=[("公众聚集场所投入使用、营业前消防安全检查", "消防救援机构")],
        laws=[("《中华人民共和国消防法》", "第三十四条", "")],
        quals=[("消防技术服务机构", "", "须在社会消防技术服务信息系统登记")],
        illustrative=True,
        summary="对单位或场所的火灾风险和消防安全状况进行评估，出具评估报告。",
    ),
]

NOTICES = [
    dict(
        slug="trial-operation",
        date=datetime.date(2025, 1, 6),
        title="关于中介服务超市上线试运行的通知（演示）",
        body=(
            "<p>为规范行政审批中介服务，破除“红顶中介”，中介服务超市即日起上线试运行。"
            "项目业主可在网上发布采购公告，通过随机抽取、直接选取、竞价选取等方式公开选取中介服务机构。</p>"
            "<p>试运行期间如有问题，请通过平台“投诉举报”栏目反映。</p>"
            "<p><b>说明：</b>本通知为演示数据，并非任何机关发布的真实通知。</p>"
        ),
    ),
    dict(
        slug="agency-enrolment",
        date=datetime.date(2025, 1, 13),
        title="关于开展中介服务机构入驻工作的公告（演示）",
        body=(
            "<p>依法设立、具备相应资质（资格）的中介服务机构，可通过网上申请入驻中介服务超市，"
            "实行“一库入驻、全省执业”，不得设置区域、行业等限制性条件。</p>"
            "<ul><li>网上填报机构基本信息、资质证书和执业人员；</li>"
            "<li>主管部门在规定时限内审核；</li><li>审核通过后即可承接业务。</li></ul>"
            "<p><b>说明：</b>本公告为演示数据。</p>"
        ),
    ),
    dict(
        slug="catalog-published",
        date=datetime.date(2025, 2, 3),
        title="关于公布行政审批中介服务事项清单的通知（演示）",
        body=(
            "<p>现将本地区行政审批中介服务事项清单予以公布。清单载明各事项的设置依据、服务时限、"
            "收费依据和收费标准，清单之外不得以任何形式要求申请人委托中介服务机构开展服务。</p>"
            "<p><b>说明：</b>本通知为演示数据，清单中的事项编码和服务时限为示例。</p>"
        ),
    ),
]

POLICIES = [
    dict(
        slug="gbf-2015-31",
        title="国务院办公厅关于清理规范国务院部门行政审批中介服务的通知",
        authority="国务院办公厅",
        number="国办发〔2015〕31号",
        issued=datetime.date(2015, 4, 27),
        url="https://www.gov.cn/",
        body=(
            "<p>通知要求清理规范国务院部门行政审批中介服务：破除中介服务垄断，切断中介服务利益关联，"
            "规范中介服务收费，实行中介服务清单管理，加强中介服务监管。</p>"
            "<p><b>说明：</b>以上为本站撰写的内容摘要，原文以国务院办公厅公布的文本为准。</p>"
        ),
    ),
    dict(
        slug="gf-2015-58",
        title="国务院关于第一批清理规范89项国务院部门行政审批中介服务事项的决定",
        authority="国务院",
        number="国发〔2015〕58号",
        issued=datetime.date(2015, 10, 11),
        url="https://www.gov.cn/",
        body=(
            "<p>决定第一批清理规范89项国务院部门行政审批中介服务事项，不再作为行政审批的受理条件。</p>"
            "<p><b>说明：</b>以上为本站撰写的内容摘要，原文以国务院公布的文本为准。</p>"
        ),
    ),
    dict(
        slug="gf-2016-55",
        title="国务院关于加快推进“互联网+政务服务”工作的指导意见",
        authority="国务院",
        number="国发〔2016〕55号",
        issued=datetime.date(2016, 9, 25),
        url="https://www.gov.cn/",
        body=(
            "<p>指导意见要求优化再造政务服务，融合升级平台渠道，夯实支撑基础，"
            "推进政务服务事项网上公开运行，建设网上政务服务平台。</p>"
            "<p><b>说明：</b>以上为本站撰写的内容摘要，原文以国务院公布的文本为准。</p>"
        ),
    ),
]


# 信用评价办法: the credit formula of ratings/credit.py (FORMULA_VERSION 1) in plain Chinese,
# under 政策法规 as an illustrative page. The agency profile and credit record link to it by
# slug (ratings.credit.POLICY_SLUG); tests/ratings/test_credit.py checks the text against the
# formula's constants.
CREDIT_POLICY = dict(
    slug="credit-evaluation-rules",
    title="中介机构信用评价办法（示例）",
    authority="中介服务超市（示例）",
    number="",
    issued=datetime.date(2026, 1, 1),
    url="",
    body=(
        "<p><b>说明：</b>本页为演示用示例文本，不是正式发布的文件。"
        "本办法为第1版（公式版本号：1）。</p>"
        "<p>中介服务超市依据本办法，对入驻中介机构的信用自动评分并确定信用等级。"
        "机构收到服务评价，合同通过验收、完成或被标记逾期，放弃中选，投诉被认定成立，"
        "失信惩戒生效或解除时，系统重新计算该机构的信用分；此外每日重新计算一次。"
        "信用分或等级每次变化都留存记录，每一项的计算过程可在机构主页的“信用记录”中查看。</p>"
        "<h3>一、信用分</h3>"
        "<p>信用分 = 基础分80分 + 服务评价得分 − 各项扣分 + 按期完成加分。"
        "统计期为计算时点前24个月。结果保留两位小数；低于0分的按0分计，高于100分的按100分计。</p>"
        "<ol>"
        "<li><b>服务评价（−15分至+15分）：</b>每条评价的综合分是服务质量、服务时效、服务态度、"
        "收费合理性、依法依规五项评分（每项1至5分）的平均值。统计期内的评价按时间加权平均："
        "评价越早，权重越低，每过12个月（365天）权重减半，即权重 = 0.5的（距今天数÷365）次方。"
        "加权平均分保留两位小数，服务评价得分 =（加权平均分 − 3）× 7.5（保留两位小数）：平均5分得+15分，3分得0分，1分得−15分。"
        "统计期内没有评价的，本项为0分。</li>"
        "<li><b>投诉举报：</b>统计期内经调查认定投诉成立的，每件扣8分。</li>"
        "<li><b>合同逾期：</b>约定完成日期在统计期内、曾被标记为逾期的合同，每份扣3分。</li>"
        "<li><b>放弃中选：</b>统计期内中选或候补后放弃的（包括未在规定时间内确认而视为放弃的），"
        "每次扣2分。</li>"
        "<li><b>失信惩戒：</b>警示每次扣5分，暂停选取资格每次扣15分；"
        "在惩戒生效期间以及惩戒期满或解除后12个月内扣分。经申诉撤销或已撤回的处理不扣分。</li>"
        "<li><b>按期完成加分：</b>统计期内通过验收、在约定完成日期前完成且从未逾期的合同，"
        "每份加1分，最多加10分。</li>"
        "</ol>"
        "<h3>二、信用等级</h3>"
        "<ul>"
        "<li>A级：90分及以上；</li>"
        "<li>B级：75分及以上，不足90分；</li>"
        "<li>C级：60分及以上，不足75分；</li>"
        "<li>D级：不足60分。</li>"
        "</ul>"
        "<p>被处以市场禁入（列入黑名单）的机构，在禁入期间以及期满或解除后12个月内，"
        "信用等级一律为D级，不论信用分高低。</p>"
        "<h3>三、其他</h3>"
        "<p>没有任何评价和记录的机构，信用分为基础分80分（B级）。"
        "采购人可以把信用等级作为报名条件（例如“B级及以上”）。"
        "计算公式调整时，将以新的版本号发布。</p>"
    ),
)


def ensure_credit_policy(sections: dict) -> PolicyPage:
    """The credit rules page (CREDIT_POLICY), published under 政策法规 if missing."""
    existing = _child(sections["policies"], PolicyPage, CREDIT_POLICY["slug"])
    if existing:
        return existing
    spec = CREDIT_POLICY
    return _publish_new(
        sections["policies"],
        PolicyPage(
            title=spec["title"],
            slug=spec["slug"],
            issuing_authority=spec["authority"],
            document_number=spec["number"],
            issued_date=spec["issued"],
            source_url=spec["url"],
            body=spec["body"],
            illustrative=True,
        ),
    )


def _publish_new(parent: Page, page: Page) -> Page:
    """Adds ``page`` under ``parent`` and publishes it through a revision."""
    page.live = False
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page


def ensure_home() -> HomePage:
    """The HomePage as root of the default Site (127.0.0.1:8000), replacing Wagtail's starter
    welcome page. Idempotent."""
    home = HomePage.objects.first()
    root = Page.get_first_root_node()
    if home is None:
        home = _publish_new(
            root,
            HomePage(
                title="中介服务超市",
                slug="portal",
                hero_title="行政审批中介服务超市",
                hero_text=(
                    "公开中介服务事项清单和收费标准，项目业主在网上发布需求，"
                    "通过随机抽取、直接选取、竞价选取公开选择中介服务机构，全程留痕、可追溯。"
                ),
            ),
        )
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        site = Site(is_default_site=True)
    site.hostname = "127.0.0.1"
    site.port = 8000
    site.site_name = "中介服务超市"
    site.root_page = home
    site.is_default_site = True
    site.save()
    # Wagtail's starter page (a plain Page at depth 2 without children) is no longer needed.
    for welcome in Page.objects.filter(
        depth=2, content_type__app_label="wagtailcore", content_type__model="page", numchild=0
    ).exclude(pk=home.pk):
        if not Site.objects.filter(root_page=welcome).exists():
            welcome.delete()
    return home


def _child(parent: Page, model, slug: str):
    return model.objects.child_of(parent).filter(slug=slug).first()


def ensure_sections(home: HomePage) -> dict:
    catalog = _child(home, CatalogIndexPage, "catalog") or _publish_new(
        home,
        CatalogIndexPage(
            title="中介服务事项清单",
            slug="catalog",
            intro=(
                "<p>本清单列明行政审批所需的中介服务事项，以及各事项的设置依据、服务时限、收费依据和"
                "资质要求。清单之外的中介服务，不得作为行政审批的受理条件。</p>"
            ),
        ),
    )
    notices = _child(home, NoticeIndexPage, "notices") or _publish_new(
        home, NoticeIndexPage(title="通知公告", slug="notices")
    )
    policies = _child(home, PolicyIndexPage, "policies") or _publish_new(
        home, PolicyIndexPage(title="政策法规", slug="policies")
    )
    return {"catalog": catalog, "notices": notices, "policies": policies}


def ensure_industry_pages(catalog: CatalogIndexPage) -> dict:
    from marketplace.reference import ensure_industries

    pages = {}
    for code, industry in ensure_industries().items():
        page = IndustryPage.objects.child_of(catalog).filter(industry=industry).first()
        if page is None:
            page = _publish_new(
                catalog,
                IndustryPage(
                    title=industry.name,
                    slug=code,
                    industry=industry,
                    intro=f"<p>{industry.name}领域的行政审批中介服务事项。</p>",
                ),
            )
        pages[code] = page
    return pages


def _fee_rules() -> dict:
    try:
        from cms.fees.demo import load_fee_rules
    except ImportError:  # the fee engine not installed: items are shown without fee rules
        logger.warning("cms.fees.demo.load_fee_rules is missing; items get no fee rules")
        return {}
    return load_fee_rules()


def build_item(
    spec: dict, code: str, rules: dict, qualification_types: dict | None = None
) -> ServiceItemPage:
    """An unsaved item from a spec of ITEMS. ``qualification_types`` maps names to
    QualificationType rows (from ensure_qualification_types when not given)."""
    if qualification_types is None:
        qualification_types = _qualification_types_by_name()
    rule = rules.get(spec["rule"]) if spec.get("rule") else None
    item = ServiceItemPage(
        title=spec["name"],
        slug=code.lower(),
        code=code,
        summary=spec.get("summary", ""),
        responsible_department=spec["department"],
        time_limit_days=spec["days"],
        fee_rule=rule,
        fee_category=spec.get("category", "") if rule else "",
        fee_basis=spec.get("fee_basis") or (f"{rule.basis}" if rule else MARKET_PRICE),
        illustrative=spec.get("illustrative", True),
        legal_basis_text=(
            "<p>设置依据：" + "；".join(f"{law}{art}" for law, art, _ in spec["laws"]) + "。</p>"
        ),
    )
    item.approval_matters = [ApprovalMatter(name=n, department=d) for n, d in spec["matters"]]
    item.legal_bases = [
        LegalBasis(law_name=law, article=art, document_number=no) for law, art, no in spec["laws"]
    ]
    item.qualification_requirements = [
        QualificationRequirement(qualification=qualification_types[t], minimum_level=lv, note=note)
        for t, lv, note in spec["quals"]
    ]
    return item


def _qualification_types_by_name() -> dict:
    """The maintained qualification types (created from marketplace.reference if missing), by
    name: the demo items name their required types the way the reference list does."""
    from marketplace.reference import ensure_qualification_types

    return {qtype.name: qtype for qtype in ensure_qualification_types().values()}


@transaction.atomic
def load_catalog() -> dict:
    """Creates the demo site tree and content; idempotent. Returns figures and the demo
    moderator accounts (``{"items", "industries", "notices", "policies", "accounts", …}``)."""
    home = ensure_home()
    sections = ensure_sections(home)
    catalog = sections["catalog"]
    industry_pages = ensure_industry_pages(catalog)
    rules = _fee_rules()
    qualification_types = _qualification_types_by_name()

    existing = set(ServiceItemPage.objects.values_list("code", flat=True))
    for number, spec in enumerate(ITEMS, start=1):
        code = f"{CODE_PREFIX}{number:04d}"
        if code in existing:
            continue
        _publish_new(
            industry_pages[spec["industry"]], build_item(spec, code, rules, qualification_types)
        )

    for spec in NOTICES:
        if not _child(sections["notices"], NoticePage, spec["slug"]):
            _publish_new(
                sections["notices"],
                NoticePage(
                    title=spec["title"],
                    slug=spec["slug"],
                    date=spec["date"],
                    body=spec["body"],
                    illustrative=True,
                ),
            )
    for spec in POLICIES:
        if not _child(sections["policies"], PolicyPage, spec["slug"]):
            _publish_new(
                sections["policies"],
                PolicyPage(
                    title=spec["title"],
                    slug=spec["slug"],
                    issuing_authority=spec["authority"],
                    document_number=spec["number"],
                    issued_date=spec["issued"],
                    source_url=spec["url"],
                    body=spec["body"],
                ),
            )

    ensure_credit_policy(sections)

    moderation = ensure_demo_moderators(catalog, password=DEMO_MODERATOR_PASSWORD)
    used_industries = {spec["industry"] for spec in ITEMS}
    return {
        "home": home,
        "catalog": catalog,
        "items": ServiceItemPage.objects.live().descendant_of(catalog).count(),
        "industries": len(used_industries),
        "notices": NoticePage.objects.live().count(),
        "policies": PolicyPage.objects.live().count(),
        "workflow": moderation["workflow"],
        "accounts": [
            {
                "role": "catalog editor 事项清单编辑",
                "email": DEMO_EDITOR_EMAIL,
                "password": DEMO_MODERATOR_PASSWORD,
                "organisation": "Wagtail /cms/",
            },
            {
                "role": "catalog reviewer 事项清单审核",
                "email": DEMO_REVIEWER_EMAIL,
                "password": DEMO_MODERATOR_PASSWORD,
                "organisation": "Wagtail /cms/",
            },
        ],
    }
