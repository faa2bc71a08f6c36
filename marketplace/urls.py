from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from marketplace import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("django-admin/", admin.site.urls),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("shop/", include(apps.get_app_config("oscar").urls[0])),
    path("api/fees/", include("cms.fees.urls")),
    path("api/search/", include("search.urls")),
    path("fees/", include("cms.fees.urls_public")),
    path("agencies/", include("agencies.urls")),
    path("procurement/", include("procurement.urls")),
    path("ratings/", include("ratings.urls")),
    path("", include("marketplace.urls_core")),
    path("", include("cms.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving catches every remaining path: it must stay last.
urlpatterns += [path("", include(wagtail_urls))]
