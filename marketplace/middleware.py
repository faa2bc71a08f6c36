import contextvars
import re
import uuid

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

# The request id and client address reach the audit helper without being passed through every
# service signature. A context variable (not a thread-local) is correct under ASGI too.
_request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "marketplace_request_context", default=None
)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_context() -> dict:
    return _request_context.get() or {}


class RequestContextMiddleware:
    """Gives every request an id (kept from a trusted proxy's X-Request-ID when well formed)
    and records the client address for the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_context.set(
            {"request_id": request_id, "ip": client_ip(request), "user": None, "request": request}
        )
        try:
            response = self.get_response(request)
        finally:
            _request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def client_ip(request) -> str | None:
    # REMOTE_ADDR is the peer. Behind the deployment's proxy, the proxy is configured to
    # overwrite X-Real-IP; we never trust a client-supplied X-Forwarded-For chain.
    if getattr(settings, "TRUST_X_REAL_IP", False):
        real = request.headers.get("X-Real-IP")
        if real:
            return real
    return request.META.get("REMOTE_ADDR")


class MarketplaceCSPMiddleware(CSPMiddleware):
    """The public site gets the strict policy of settings.CONTENT_SECURITY_POLICY. The staff
    back offices (Wagtail, Oscar's dashboard, Django admin) ship inline scripts we do not
    control, so they get 'unsafe-inline' for scripts — and nothing else is relaxed."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith(settings.CSP_ADMIN_PATH_PREFIXES):
            update = dict(parts.update or {})
            update["script-src"] = ["'self'", "'unsafe-inline'", "'unsafe-eval'"]
            parts.update = update
        return parts


class ChineseFirstLocaleMiddleware:
    """Simplified Chinese unless the visitor chose another language with the switch.

    Django's LocaleMiddleware follows the browser's Accept-Language, which would show English to
    every official whose browser happens to be set up in English; a government portal answers in
    its own language and offers the others. The choice is the set_language cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
