"""The database backend's index: a relational copy of the index documents (search/documents.py),
rebuilt from the source tables like the Elasticsearch index, never edited by hand.

One row per document, one row per facet value (and per exact keyword, field ``_kw``), so that
filters and counts are plain indexed joins on SQLite as on PostgreSQL. On PostgreSQL a trigram
GIN index on ``search_text`` serves the substring matches (migration 0002)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

KEYWORD_FIELD = "_kw"


class SearchDocument(models.Model):
    kind = models.CharField(_("kind"), max_length=32)
    object_id = models.CharField(_("object id"), max_length=64)
    title = models.CharField(_("title"), max_length=300)
    title_norm = models.CharField(_("normalised title"), max_length=300)
    search_text = models.TextField(_("searchable text"))
    sort_name = models.CharField(_("name sort key"), max_length=300)
    # The kind's one numeric sort (SearchKind.numeric_sort: an agency's credit score).
    sort_number = models.FloatField(_("numeric sort key"), null=True)
    data = models.JSONField(_("result card data"), default=dict)
    fingerprint = models.CharField(_("fingerprint"), max_length=40)
    indexed_at = models.DateTimeField(_("indexed at"), auto_now=True)

    class Meta:
        verbose_name = _("search document")
        verbose_name_plural = _("search documents")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="mp_search_doc_unique")
        ]
        indexes = [
            models.Index(fields=["kind", "sort_name", "object_id"], name="mp_search_doc_name"),
            models.Index(fields=["kind", "title_norm"], name="mp_search_doc_title"),
            models.Index(fields=["kind", "sort_number"], name="mp_search_doc_number"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.title}"


class SearchFacetValue(models.Model):
    # No index of its own: mp_search_fv_doc (document, field, value) serves every lookup by
    # document, and a second index on ~1.25M rows (100k agencies) only slows the writes.
    document = models.ForeignKey(
        SearchDocument, on_delete=models.CASCADE, related_name="facet_values", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=32)
    field = models.CharField(_("field"), max_length=40)
    value = models.CharField(_("value"), max_length=120)

    class Meta:
        verbose_name = _("search facet value")
        verbose_name_plural = _("search facet values")
        indexes = [
            # Filtering (which documents have field=value) and counting (values per document).
            models.Index(fields=["kind", "field", "value", "document"], name="mp_search_fv"),
            models.Index(fields=["document", "field", "value"], name="mp_search_fv_doc"),
        ]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"
