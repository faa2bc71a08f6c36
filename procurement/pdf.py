"""The contract document (合同文本): the canonical terms as text, which both parties' signatures
fingerprint, and the printable contract as a PDF in Chinese.

    contract = contract_for_document(pk)     # three queries, everything the document shows
    terms_text(contract)                     # the canonical terms (deterministic text)
    terms_hash(contract)                     # its SHA-256, hex: Signature.terms_hash
    contract_pdf(contract)                   # the PDF, bytes

The PDF is rendered by WeasyPrint from ``procurement/contracts/contract_pdf.html`` and never
touches the network: the base URL is the project's static directory and the URL fetcher
(:class:`LocalURLFetcher`) serves only ``data:`` URLs and files inside the static directories;
anything else is refused (WeasyPrint then leaves the resource out and logs a warning). The
text needs a CJK font (Debian's fonts-noto-cjk, installed by scripts/system-packages and the
Dockerfile) and pango.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.apps import apps
from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation

from marketplace.money import yuan_in_words
from procurement.models import (
    Contract,
    ContractSource,
    Milestone,
    SelectionMethod,
    Signature,
    SigningParty,
)

TEMPLATE = "procurement/contracts/contract_pdf.html"
# Bump when the layout of terms_text changes: the hash of an old contract then no longer
# matches its signatures' fingerprints, and the header says which layout was signed.
TERMS_VERSION = 1
_CENT = Decimal("0.01")

# In Chinese whatever the request's language: the document is a Chinese contract.
_METHOD_NAMES = {
    SelectionMethod.RANDOM_DRAW: "随机抽取",
    SelectionMethod.DIRECT: "直接选取",
}
_PARTY_NAMES = {SigningParty.OWNER: "甲方", SigningParty.AGENCY: "乙方"}


# --- loading ---------------------------------------------------------------------------------


def contract_for_document(pk) -> Contract:
    """The contract with everything :func:`terms_text` and :func:`contract_pdf` read, in three
    queries whatever the number of milestones and signatures: the contract with its parties,
    project (and the project's region up to its province, for the location's full name),
    service item, announcement and offering; the milestones; the signatures with their
    organisations and signers."""
    return (
        Contract.objects.select_related(
            "owner__organisation__region",
            "agency__organisation__region",
            "project__region__parent__parent",
            "service_item",
            "announcement",
            "offering",
        )
        .prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by("sequence")),
            Prefetch(
                "signatures",
                queryset=Signature.objects.select_related("organisation", "signed_by").order_by(
                    "signed_at", "pk"
                ),
            ),
        )
        .get(pk=pk)
    )


# --- the canonical terms ---------------------------------------------------------------------


def _amount(value: Decimal) -> str:
    """``12345.60``: two places, no separators (the canonical form)."""
    return str(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP))


def _yuan(value: Decimal) -> str:
    """``12,345.60`` for display."""
    return f"{Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP):,}"


def _one_line(value: str) -> str:
    return " ".join((value or "").split())


def _paragraphs(value: str) -> str:
    """Line breaks normalised to ``\\n``, trailing spaces and surrounding blank lines
    dropped, so that the same text typed on any system reads the same."""
    lines = (value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def _milestones(contract: Contract) -> list[Milestone]:
    return sorted(contract.milestones.all(), key=lambda m: (m.sequence, m.pk))


def _selection(contract: Contract) -> str:
    if contract.source == ContractSource.DIRECT_PURCHASE or contract.announcement_id is None:
        offering = f"（挂牌服务编号 {contract.offering_id}）" if contract.offering_id else ""
        return f"直接选取{offering}"
    return f"采购公告 {contract.announcement.code}"


def terms_text(contract: Contract) -> str:
    """The canonical terms of ``contract`` as text: what both parties sign, and what
    :func:`terms_hash` fingerprints. Deterministic: the same terms give the same text, on
    any machine and in any language; the text changes when a term does (number, parties and
    their codes, project, service item, how the agency was selected, scope, price, ceiling,
    standard fee, time limit, milestones). It holds no signature, status, timestamp or
    contact detail (a contact person or phone may change without changing the contract).

    Amounts are written with two places (``12345.60``), dates as ``YYYY-MM-DD``, the scope
    with its line breaks normalised. Reads the related rows :func:`contract_for_document`
    loads (without it, a few more queries)."""
    owner_org = contract.owner.organisation
    agency_org = contract.agency.organisation
    project = contract.project
    item = contract.service_item
    lines = [
        f"中介服务合同条款（第{TERMS_VERSION}版）",
        f"合同编号：{contract.code}",
        f"甲方：{_one_line(owner_org.name)}；统一社会信用代码：{owner_org.uscc or '无'}",
        f"乙方：{_one_line(agency_org.name)}；统一社会信用代码：{agency_org.uscc or '无'}",
        (
            f"项目：{_one_line(project.name)}；投资项目统一代码：{project.code or '无'}；"
            f"项目地点（行政区划代码）：{project.region_id}"
        ),
        f"服务事项：{item.code} {_one_line(item.title)}",
        f"选取方式：{_selection(contract)}",
        "服务内容：",
        _paragraphs(contract.scope),
        f"合同价款：人民币{_amount(contract.price)}元",
        f"最高限价：人民币{_amount(contract.price_ceiling)}元",
        "标准收费："
        + (
            f"人民币{_amount(contract.standard_fee)}元"
            if contract.standard_fee is not None
            else "无"
        ),
        f"服务期限：{contract.time_limit_days}个工作日",
        "付款节点：",
    ]
    lines.extend(
        f"{m.sequence}. {_one_line(m.title)}；人民币{_amount(m.amount)}元；"
        f"约定完成日期：{m.due_date.isoformat()}"
        for m in _milestones(contract)
    )
    return "\n".join(lines) + "\n"


def terms_hash(contract: Contract) -> str:
    """The SHA-256 (hex) of :func:`terms_text` in UTF-8: the fingerprint each signature
    records (``Signature.terms_hash``) and the document's footer shows."""
    return hashlib.sha256(terms_text(contract).encode("utf-8")).hexdigest()


# --- the document ----------------------------------------------------------------------------


class URLRefused(ValueError):
    """The contract document fetches nothing but data: URLs and local static files."""


def static_roots() -> list[Path]:
    """The directories whose files the document may embed: the static directories of the
    project and of each app, and STATIC_ROOT."""
    roots = [Path(p) for p in getattr(settings, "STATICFILES_DIRS", ())]
    roots += [Path(app.path) / "static" for app in apps.get_app_configs()]
    if getattr(settings, "STATIC_ROOT", None):
        roots.append(Path(settings.STATIC_ROOT))
    return [root.resolve() for root in roots if root.is_dir()]


@functools.cache
def _url_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalURLFetcher(URLFetcher):
        """WeasyPrint's fetcher restricted to ``data:`` URLs and files inside ``roots``
        (by default :func:`static_roots`): http(s), ftp, other files and any other scheme
        raise :class:`URLRefused` before anything is opened."""

        def __init__(self, roots=None):
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
            self.roots = [Path(r).resolve() for r in (static_roots() if roots is None else roots)]

        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                parts = urlsplit(url)
                if parts.netloc not in ("", "localhost"):
                    raise URLRefused(f"not a local file: {url}")
                path = Path(url2pathname(parts.path)).resolve()
                if path.is_file() and any(path.is_relative_to(root) for root in self.roots):
                    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
                    )
                raise URLRefused(f"not a static file: {url}")
            raise URLRefused(f"the contract document fetches nothing from the network: {url}")

    return LocalURLFetcher


def local_url_fetcher(roots=None):
    """A new :class:`LocalURLFetcher` (WeasyPrint is imported on first use: it loads pango)."""
    return _url_fetcher_class()(roots)


def _base_url() -> str:
    return (Path(settings.BASE_DIR) / "static").resolve().as_uri() + "/"


def _fee_change(price: Decimal, standard_fee: Decimal | None) -> str:
    """降费率: how far the price is below the standard fee, in percent (or above it)."""
    if standard_fee is None or standard_fee <= 0:
        return ""
    rate = ((standard_fee - price) / standard_fee * 100).quantize(_CENT, rounding=ROUND_HALF_UP)
    if rate >= 0:
        return f"降费率 {rate}%"
    return f"较标准收费上浮 {-rate}%"


def _signature_rows(contract: Contract, fingerprint: str) -> list[dict]:
    by_party = {s.party: s for s in contract.signatures.all()}
    parties = (
        (SigningParty.OWNER, contract.owner.organisation, contract.owner.legal_representative),
        (SigningParty.AGENCY, contract.agency.organisation, contract.agency.legal_representative),
    )
    rows = []
    for party, organisation, legal in parties:
        signature = by_party.get(party)
        rows.append(
            {
                "label": _PARTY_NAMES[party],
                "organisation": organisation.name,
                "legal_representative": legal,
                "signature": signature,
                "signer": signature.signed_by.get_full_name() if signature else "",
                "hash_matches": signature is None or signature.terms_hash == fingerprint,
            }
        )
    return rows


def document_context(contract: Contract) -> dict:
    """What the template shows, prepared (amounts formatted, Chinese labels)."""
    fingerprint = terms_hash(contract)
    milestones = _milestones(contract)
    offering = contract.offering if contract.offering_id else None
    announcement = contract.announcement if contract.announcement_id else None
    purchase = contract.source == ContractSource.DIRECT_PURCHASE or announcement is None
    return {
        "contract": contract,
        "owner": contract.owner,
        "owner_org": contract.owner.organisation,
        "agency": contract.agency,
        "agency_org": contract.agency.organisation,
        "project": contract.project,
        "location": contract.project.region.full_name,
        "item": contract.service_item,
        "announcement": announcement,
        "method": (
            _METHOD_NAMES.get(announcement.method) or str(announcement.get_method_display())
            if announcement
            else ""
        ),
        "purchase": purchase,
        "offering": offering,
        "offering_price": _yuan(offering.price) if offering and offering.price else "",
        "offering_discount": offering.discount_rate if offering else None,
        "price": _yuan(contract.price),
        "price_words": yuan_in_words(contract.price),
        "ceiling": _yuan(contract.price_ceiling),
        "standard_fee": _yuan(contract.standard_fee) if contract.standard_fee is not None else "",
        "fee_change": _fee_change(contract.price, contract.standard_fee),
        "milestones": [
            {"m": m, "amount": _yuan(m.amount), "words": yuan_in_words(m.amount)}
            for m in milestones
        ],
        "milestones_total": _yuan(sum((m.amount for m in milestones), Decimal(0))),
        "parties": _signature_rows(contract, fingerprint),
        "fingerprint": fingerprint,
        "scope": _paragraphs(contract.scope),
    }


def contract_html(contract: Contract) -> str:
    """The document's HTML (in Chinese, dates in Asia/Shanghai)."""
    with translation.override("zh-hans"), timezone.override(settings.TIME_ZONE):
        return render_to_string(TEMPLATE, document_context(contract))


def contract_pdf(contract: Contract) -> bytes:
    """The contract document as PDF bytes (A4, page-numbered, the terms' fingerprint in every
    footer). Load the contract with :func:`contract_for_document` to keep it to three
    queries."""
    import weasyprint

    html = weasyprint.HTML(
        string=contract_html(contract), base_url=_base_url(), url_fetcher=local_url_fetcher()
    )
    return html.write_pdf()
