from django.conf import settings


def site(request):
    return {
        "MARKETPLACE_DEMO": settings.MARKETPLACE.get("DEMO", False),
        "SITE_NAME": settings.WAGTAIL_SITE_NAME,
    }
