"""Fee rules are edited in the Wagtail admin (/cms/) as snippets; the catalog's ServiceItemPage
chooses one through the snippet chooser. The definition is JSON in the engine's format
(cms/fees/engine.py); FeeRule.clean() refuses a definition the engine cannot price."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import FeeRule


class FeeRuleViewSet(SnippetViewSet):
    model = FeeRule
    icon = "table"
    menu_label = _("Fee standards")
    menu_order = 300
    add_to_admin_menu = True
    list_display = ("name", "code", "basis", "illustrative", "updated_at")
    list_filter = ("illustrative",)
    search_fields = ("name", "code", "basis")
    panels = [
        FieldPanel("code"),
        FieldPanel("name"),
        FieldPanel("basis"),
        FieldPanel("illustrative"),
        FieldPanel("source_note"),
        FieldPanel("definition"),
    ]


register_snippet(FeeRuleViewSet)
