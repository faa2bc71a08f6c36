"""Rich text sanitising.

Wagtail's Draftail editor only ever produces whitelisted HTML, but rich text can also reach the
database without the editor (demo loaders, imports, the API, a revision edited by a script). So
every page with rich text runs its values through Wagtail's own whitelister
(``EditorHTMLConverter``, restricted to the field's editor features) before it is validated or
saved. Script and style elements are dropped with their content first (the whitelister would keep
their text).
"""

from bs4 import BeautifulSoup
from wagtail.fields import RichTextField

_DROP_WITH_CONTENT = ("script", "style", "noscript", "template", "iframe", "object")


def sanitise_rich_text(html: str, features: list[str] | None = None) -> str:
    """Returns ``html`` reduced to what the rich text editor allows (elements, attributes and
    link types of the given features; Wagtail's default features when None)."""
    if not html:
        return html
    # Imported here: the admin's converters need the app registry to be ready.
    from wagtail.admin.rich_text.converters.editor_html import EditorHTMLConverter

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(list(_DROP_WITH_CONTENT)):
        tag.decompose()
    return EditorHTMLConverter(features=features).to_database_format(str(soup))


class SanitisedRichTextMixin:
    """Sanitises every RichTextField of the model on full_clean() (which save_revision() calls
    before the revision is stored) and on save()."""

    def sanitise_rich_text_fields(self) -> None:
        for field in self._meta.concrete_fields:
            if isinstance(field, RichTextField):
                value = getattr(self, field.attname)
                if value:
                    setattr(self, field.attname, sanitise_rich_text(value, field.features))

    def full_clean(self, *args, **kwargs):
        self.sanitise_rich_text_fields()
        return super().full_clean(*args, **kwargs)

    def save(self, *args, **kwargs):
        self.sanitise_rich_text_fields()
        return super().save(*args, **kwargs)
