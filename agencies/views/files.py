"""Private files (licences, certificate scans, social-insurance proofs, change documents).

They live in private storage, outside MEDIA_ROOT, and are streamed only to users the "download"
rule allows (the agency's members, regulators in scope). Everybody else gets a 404, the same as
for a file that does not exist, so the URL reveals nothing."""

from __future__ import annotations

import mimetypes
import os

from django.http import FileResponse, Http404
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from agencies.models import Agency, ChangeRequest, Practitioner, QualificationCertificate
from marketplace.permissions import has_perm
from marketplace.uploads import FORMATS

# kind in the URL -> (model, file field, name stem of the download)
KINDS = {
    "licence": (Agency, "business_licence", "business-licence"),
    "certificate": (QualificationCertificate, "scan", "certificate"),
    "practitioner": (Practitioner, "social_insurance_proof", "social-insurance"),
    "change": (ChangeRequest, "attachment", "change-document"),
}
_CONTENT_TYPES = {ext: ctype for _m, exts, ctype in FORMATS.values() for ext in exts}


def _may_download(user, obj) -> bool:
    if has_perm(user, "download", obj):
        return True
    # The licence belongs to the agency record itself: whoever may see the private enrolment
    # (its members, reviewers in scope) may read it.
    return isinstance(obj, Agency) and has_perm(user, "view_private", obj)


@never_cache
@require_GET
def download(request, kind: str, pk: int):
    spec = KINDS.get(kind)
    if spec is None or not request.user.is_authenticated:
        if spec is not None and not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        raise Http404
    model, field, stem = spec
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None or not _may_download(request.user, obj):
        raise Http404
    fieldfile = getattr(obj, field)
    if not fieldfile:
        raise Http404
    try:
        handle = fieldfile.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    ext = os.path.splitext(fieldfile.name)[1].lower()
    content_type = _CONTENT_TYPES.get(ext) or mimetypes.guess_type(fieldfile.name)[0]
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{stem}-{pk}{ext}",
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
