"""URLs for the browser journeys: the real site plus one probe page that extends
templates/base.html, so the site chrome (language switch, skip link) is testable before any
public page exists. Journeys opt in with ``settings.ROOT_URLCONF = "tests.e2e.urls"``."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path

from marketplace.urls import urlpatterns as site_urlpatterns

PROBE_TEMPLATE = engines["django"].from_string(
    """{% extends "base.html" %}{% load i18n %}
{% block title %}E2E probe{% endblock %}
{% block content %}<h1 id="probe-heading">{% translate "Language" %}</h1>
<p id="probe-language">{{ LANGUAGE_CODE }}</p>{% endblock %}"""
)


def probe(request):
    return HttpResponse(PROBE_TEMPLATE.render({}, request))


urlpatterns = [path("_e2e/base/", probe, name="e2e-probe")] + site_urlpatterns
