
"""Wagtail pages of the public site: the home page, the catalog of intermediary service items
(中介服务事项清单: catalog index → industry pages → service item pages), notices (通知公告) and
policies (政策法规).

The regulatory text lives here (DESIGN §3: one source of truth); fee rules are structured data in
the ``fees`` app and are linked by foreign key, never copied.
"""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.documents import get_document_model_string
from wagtail.fields import RichTextField
from wagtail.models import Orderable, Page
from wagtail.search import index

from cms.cache import mark_cacheable
from cms.richtext import SanitisedRichTextMixin

CATALOG_PAGE_SIZE = 20
NOTICE_PAGE_SIZE = 20
# Rich text in regulatory pages: headings, lists, links and documents; no embeds or images.
REGULATORY_FEATURES = [
    "h2",
    "h3",
    "h4",
    "bold",
    "italic",
    "ol",
    "ul",
    "hr",
    "link",
    "document-link",
]


def _paginate(request, queryset, per_page):
    """Django's get_page(): a malformed or out-of-range page number shows the first/last page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


class BasePage(SanitisedRichTextMixin, Page):
    """Common base: rich text sanitised, no own table."""

    class Meta:
        abstract = True

    def serve(self, request, *args, **kwargs):
        # Public pages depend only on the URL and the language: the page cache may keep them.
        # (Restricted pages never get here for a visitor without a session; see cms/cache.py.)
        return mark_cacheable(super().serve(request, *args, **kwargs))


# --- Home ----------------------------------------------------------------------------------


class HomePage(BasePage):
    """首页: the root of the public site."""

    hero_title = models.CharField(_("hero title"), max_length=120, blank=True)
    hero_text = models.TextField(_("hero text"), blank=True)
    intro = RichTextField(_("introduction"), blank=True, features=REGULATORY_FEATURES)

    content_panels = Page.content_panels + [
        FieldPanel("hero_title"),
        FieldPanel("hero_text"),
        FieldPanel("intro"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("hero_text"),
        index.SearchField("intro"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.CatalogIndexPage", "cms.NoticeIndexPage", "cms.PolicyIndexPage"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")
        verbose_name_plural = _("home pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        items = ServiceItemPage.objects.live().descendant_of(self)
        context["item_count"] = items.count()
        context["industry_count"] = (
            IndustryPage.objects.live().descendant_of(self).values("industry").distinct().count()
        )
        context["latest_notices"] = (
            NoticePage.objects.live().descendant_of(self).order_by("-date", "-pk")[:5]
        )
        context["latest_policies"] = (
            PolicyPage.objects.live().descendant_of(self).order_by("-issued_date", "-pk")[:3]
        )
        return context


# --- Catalog -------------------------------------------------------------------------------


class CatalogIndexPage(BasePage):
    """中介服务事项清单: every live service item, filterable by industry and department."""

    intro = RichTextField(_("introduction"), blank=True, features=REGULATORY_FEATURES)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.IndustryPage"]

    class Meta:
        verbose_name = _("catalog index page")
        verbose_name_plural = _("catalog index pages")

    # Parameters of the catalog search (kind "service_item"): the search box and the filters
    # the page shares with it; anything else in the query string is ignored, as without it.
    SEARCH_PARAMS = ("q", "industry", "department", "fee", "sort", "page")

    def serve(self, request, *args, **kwargs):
        if not _search_text(request):
            return super().serve(request, *args, **kwargs)
        # Search results follow the index (updated through the outbox after a publish, so
        # possibly after the page cache was invalidated) and any text makes a new URL: never
        # cached. Bad input is a 400 and no answering backend a 503, with the page around.
        response = super(BasePage, self).serve(request, *args, **kwargs)
        response.status_code = response.context_data.get("search_status", 200)
        return response

    def get_context(self, request, *args, **kwargs):
        """A fixed number of queries whatever the number of items: industry pages (1), the
        distinct departments (1), the paginator's count (1) and the page of items with their fee
        rules (1). Each item's industry is found from its tree path, not by a query per item.
        With search text (``q``), the items come from the search instead (the count, the page
        and the facets: see tests/search/test_views.py)."""
        context = super().get_context(request, *args, **kwargs)
        industry_pages = list(
            IndustryPage.objects.live()
            .child_of(self)
            .select_related("industry")
            .order_by("industry__sort_order", "path")
        )
        by_path = {p.path: p for p in industry_pages}
        by_code = {p.industry.code: p for p in industry_pages}
        items = ServiceItemPage.objects.live().descendant_of(self)
        departments = list(
            items.order_by("responsible_department")
            .values_list("responsible_department", flat=True)
            .distinct()
        )
        context.update(industry_pages=industry_pages, departments=departments)
        if _search_text(request):
            context.update(self._search_context(request))
            return context

        messages = []
        industry_code = request.GET.get("industry", "").strip()
        selected_industry = None
        if industry_code:
            selected_industry = by_code.get(industry_code)
            if selected_industry is None:
                messages.append(
                    gettext("Unknown industry “%(value)s”: the filter was ignored.")
                    % {"value": industry_code[:60]}
                )
                industry_code = ""
        department = request.GET.get("department", "").strip()
        if department and department not in departments:
            messages.append(
                gettext("Unknown department “%(value)s”: the filter was ignored.")
                % {"value": department[:60]}
            )
            department = ""

        if selected_industry is not None:
            items = items.descendant_of(selected_industry)
        if department:
            items = items.filter(responsible_department=department)
        items = items.select_related("fee_rule").order_by("code")

        page_obj = _paginate(request, items, CATALOG_PAGE_SIZE)
        steplen = Page.steplen
        for item in page_obj.object_list:
            item.industry_page = by_path.get(item.path[:-steplen])

        context.update(
            selected_industry=industry_code,
            selected_department=department,
            filter_messages=messages,
            page_obj=page_obj,
            items=page_obj.object_list,
            is_filtered=bool(industry_code or department),
            filter_query=urlencode(
                [(k, v) for k, v in (("industry", industry_code), ("department", department)) if v]
            ),
        )
        return context

    def _search_context(self, request) -> dict:
        """The catalog search: ``search("service_item", …)`` with the page's parameters."""
        from search.api import search, unavailable_message
        from search.backends.base import SearchUnavailable
        from search.kinds import get_kind
        from search.presenters import link_params, present, submitted
        from search.query import BadSearch

        query = submitted(request.GET)
        for key in list(query):
            if key not in self.SEARCH_PARAMS:
                del query[key]
        params = link_params(query)
        kind = get_kind("service_item")
        context = {
            "searching": True,
            "q": params.get("q", ""),
            "selected_industry": params.get("industry", ""),
            "selected_department": params.get("department", ""),
            "search_hidden": [(k, v) for k, v in params.items() if k in ("fee", "sort")],
            "search_status": 200,
        }
        try:
            result = search(kind.name, query)
        except BadSearch as exc:
            context.update(search_status=400, search_error=exc.message, error_param=exc.param)
            return context
        except SearchUnavailable:
            context.update(search_status=503, search_error=unavailable_message())
            return context
        shown = present(kind, result, params)
        context.update(shown.context(result), search_result=result, is_filtered=True)
        return context


def _search_text(request) -> bool:
    """Whether the catalog is searched: some text in ``q`` (an empty box lists as before)."""
    return bool(request.GET.get("q", "").strip())


class IndustryPage(BasePage):
    """行业/类别: one industry of the catalog, with its service items as children."""

    industry = models.ForeignKey(
        "marketplace.Industry",
        verbose_name=_("industry"),
        on_delete=models.PROTECT,
        related_name="catalog_pages",
    )
    intro = RichTextField(_("introduction"), blank=True, features=REGULATORY_FEATURES)

    content_panels = Page.content_panels + [FieldPanel("industry"), FieldPanel("intro")]
    search_fields = Page.search_fields + [
        index.SearchField("intro"),
        index.FilterField("industry"),
    ]

    parent_page_types = ["cms.CatalogIndexPage"]
    subpage_types = ["cms.ServiceItemPage"]

    class Meta:
        verbose_name = _("industry page")
        verbose_name_plural = _("industry pages")

    def get_context(self, request, *args, **kwargs):
        """Fixed queries: the industry (1), the paginator's count (1), the page of items with
        their fee rules (1)."""
        context = super().get_context(request, *args, **kwargs)
        items = (
            ServiceItemPage.objects.live()
            .child_of(self)
            .select_related("fee_rule")
            .order_by("code")
        )
        page_obj = _paginate(request, items, CATALOG_PAGE_SIZE)
        context.update(page_obj=page_obj, items=page_obj.object_list)
        return context


class ServiceItemPage(BasePage):
    """中介服务事项: one intermediary service item of the published catalog."""

    code = models.CharField(
        _("item code"),
        max_length=40,
        unique=True,
        help_text=_("The item's code in the published catalog, e.g. YN-ZJ-0001."),
    )
    summary = models.TextField(_("service content"), blank=True)
    legal_basis_text = RichTextField(
        _("legal basis (full text)"), blank=True, features=REGULATORY_FEATURES
    )
    responsible_department = models.CharField(
        _("responsible department"),
        max_length=100,
        db_index=True,
        help_text=_("行业主管部门, e.g. 生态环境部门."),
    )
    time_limit_days = models.PositiveIntegerField(
        _("service time limit (working days)"),
        help_text=_("服务时限: the longest time the agency may take, in working days."),
    )
    fee_basis = models.TextField(
        _("fee basis"),
        blank=True,
        help_text=_("收费依据: the document that sets the fee, or why there is no set fee."),
    )
    fee_rule = models.ForeignKey(
        "fees.FeeRule",
        verbose_name=_("fee rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_items",
        help_text=_("Leave empty when the fee is set by the market (市场调节价)."),
    )
    fee_category = models.CharField(
        _("default fee category"),
        max_length=40,
        blank=True,
        help_text=_("The fee rule's category preselected in the calculator, e.g. works."),
    )
    illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Demo data made up for illustration, not a published catalog item."),
    )

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("code"),
                FieldPanel("summary"),
                FieldPanel("responsible_department"),
                FieldPanel("time_limit_days"),
                FieldPanel("illustrative"),
            ],
            heading=_("Item"),
        ),
        InlinePanel(
            "approval_matters", heading=_("Approval matters served"), label=_("approval matter")
        ),
        InlinePanel("legal_bases", heading=_("Legal basis"), label=_("legal basis")),
        FieldPanel("legal_basis_text"),
        MultiFieldPanel(
            [FieldPanel("fee_basis"), FieldPanel("fee_rule"), FieldPanel("fee_category")],
            heading=_("Fees"),
        ),
        InlinePanel(
            "qualification_requirements",
            heading=_("Required qualifications"),
            label=_("qualification requirement"),
        ),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("code"),
        index.SearchField("summary"),
        index.SearchField("legal_basis_text"),
        index.SearchField("responsible_department"),
        index.FilterField("responsible_department"),
        index.FilterField("illustrative"),
        index.RelatedFields("approval_matters", [index.SearchField("name")]),
        index.RelatedFields("legal_bases", [index.SearchField("law_name")]),
    ]

    parent_page_types = ["cms.IndustryPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("service item page")
        verbose_name_plural = _("service item pages")

    def get_context(self, request, *args, **kwargs):
        """Fixed queries whatever the item holds: the industry page with its industry (1), the
        ancestors for the breadcrumb (1), the fee rule (1 when set), the approval matters, legal
        bases and qualification requirements (1 each)."""
        context = super().get_context(request, *args, **kwargs)
        context["industry_page"] = (
            IndustryPage.objects.select_related("industry")
            .filter(path=self.path[: -self.steplen])
            .first()
        )
        context["breadcrumbs"] = list(self.get_ancestors().filter(depth__gt=1))
        context["approval_matters"] = list(self.approval_matters.all())
        context["legal_bases"] = list(self.legal_bases.all())
        context["qualification_requirements"] = list(
            self.qualification_requirements.select_related("qualification")
        )
        return context


class ApprovalMatter(Orderable):
    """前置审批事项: an administrative approval that requires this service."""

    item = ParentalKey(ServiceItemPage, related_name="approval_matters", on_delete=models.CASCADE)
    name = models.CharField(_("approval matter"), max_length=200)
    department = models.CharField(_("approving department"), max_length=100, blank=True)

    panels = [FieldPanel("name"), FieldPanel("department")]

    class Meta(Orderable.Meta):
        verbose_name = _("approval matter")
        verbose_name_plural = _("approval matters")

    def __str__(self) -> str:
        return self.name


class LegalBasis(Orderable):
    """设置依据: a law or regulation (with its article) that requires the service."""

    item = ParentalKey(ServiceItemPage, related_name="legal_bases", on_delete=models.CASCADE)
    law_name = models.CharField(
        _("law or regulation"), max_length=200, help_text=_("e.g. 《中华人民共和国环境影响评价法》")
    )
    article = models.CharField(
        _("article"), max_length=60, blank=True, help_text=_("e.g. 第十六条")
    )
    document_number = models.CharField(
        _("document number"), max_length=80, blank=True, help_text=_("文号, e.g. 国发〔2015〕11号")
    )

    panels = [FieldPanel("law_name"), FieldPanel("article"), FieldPanel("document_number")]

    class Meta(Orderable.Meta):
        verbose_name = _("legal basis")
        verbose_name_plural = _("legal bases")

    def __str__(self) -> str:
        return f"{self.law_name}{self.article}"


class QualificationRequirement(Orderable):
    """资质要求: a qualification type of the maintained list (marketplace.QualificationType) the
    agency must hold, at a minimum level (one of the type's levels; empty = any level)."""

    item = ParentalKey(
        ServiceItemPage, related_name="qualification_requirements", on_delete=models.CASCADE
    )
    qualification = models.ForeignKey(
        "marketplace.QualificationType",
        verbose_name=_("qualification type"),
        on_delete=models.PROTECT,
        related_name="requirements",
        help_text=_("From the maintained list of qualification types, e.g. 工程造价咨询企业"),
    )
    minimum_level = models.CharField(
        _("minimum level"),
        max_length=40,
        blank=True,
        help_text=_("One of the type's levels (e.g. 乙级); empty when any level will do."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    panels = [FieldPanel("qualification"), FieldPanel("minimum_level"), FieldPanel("note")]

    class Meta(Orderable.Meta):
        verbose_name = _("qualification requirement")
        verbose_name_plural = _("qualification requirements")

    def __str__(self) -> str:
        name = self.qualification.name if self.qualification_id else ""
        return f"{name} {self.minimum_level}".strip()

    def clean(self):
        super().clean()
        self.minimum_level = (self.minimum_level or "").strip()
        if not self.minimum_level or not self.qualification_id:
            return
        levels = list(self.qualification.levels or [])
        if self.minimum_level not in levels:
            if levels:
                message = _(
                    "“%(level)s” is not a level of %(type)s; choose one of: %(levels)s, "
                    "or leave it empty."
                ) % {
                    "level": self.minimum_level,
                    "type": self.qualification.name,
                    "levels": "、".join(levels),
                }
            else:
                message = _("%(type)s has no levels; leave the minimum level empty.") % {
                    "type": self.qualification.name
                }
            raise ValidationError({"minimum_level": message})


# --- Notices -------------------------------------------------------------------------------


class NoticeIndexPage(BasePage):
    """通知公告: the list of notices, newest first."""

    intro = RichTextField(_("introduction"), blank=True, features=REGULATORY_FEATURES)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.NoticePage"]

    class Meta:
        verbose_name = _("notice index page")
        verbose_name_plural = _("notice index pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        notices = NoticePage.objects.live().child_of(self).order_by("-date", "-pk")
        context["page_obj"] = _paginate(request, notices, NOTICE_PAGE_SIZE)
        return context


class NoticePage(BasePage):
    """通知公告: one notice."""

    date = models.DateField(_("date"))
    body = RichTextField(_("body"), features=REGULATORY_FEATURES)
    attachment = models.ForeignKey(
        get_document_model_string(),
        verbose_name=_("attachment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Demo text, not a real notice.")
    )

    content_panels = Page.content_panels + [
        FieldPanel("date"),
        FieldPanel("body"),
        FieldPanel("attachment"),
        FieldPanel("illustrative"),
    ]
    search_fields = Page.search_fields + [index.SearchField("body"), index.FilterField("date")]
    parent_page_types = ["cms.NoticeIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")


# --- Policies ------------------------------------------------------------------------------


class PolicyIndexPage(BasePage):
    """政策法规: the list of policy documents."""

    intro = RichTextField(_("introduction"), blank=True, features=REGULATORY_FEATURES)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PolicyPage"]

    class Meta:
        verbose_name = _("policy index page")
        verbose_name_plural = _("policy index pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        policies = PolicyPage.objects.live().child_of(self).order_by("-issued_date", "-pk")
        context["page_obj"] = _paginate(request, policies, NOTICE_PAGE_SIZE)
        return context


class PolicyPage(BasePage):
    """政策法规: one policy document (law, regulation, normative document)."""

    issuing_authority = models.CharField(_("issuing authority"), max_length=120)
    document_number = models.CharField(
        _("document number"),
        max_length=80,
        blank=True,
        help_text=_("文号, e.g. 国办发〔2015〕31号"),
    )
    issued_date = models.DateField(_("date issued"))
    effective_date = models.DateField(_("date effective"), null=True, blank=True)
    source_url = models.URLField(_("source"), blank=True)
    body = RichTextField(_("body"), features=REGULATORY_FEATURES)
    illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Demo text, not the document's real text.")
    )

    content_panels = Page.content_panels + [
        FieldPanel("issuing_authority"),
        FieldPanel("document_number"),
        FieldPanel("issued_date"),
        FieldPanel("effective_date"),
        FieldPanel("source_url"),
        FieldPanel("body"),
        FieldPanel("illustrative"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("body"),
        index.SearchField("document_number"),
        index.SearchField("issuing_authority"),
    ]
    parent_page_types = ["cms.PolicyIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
