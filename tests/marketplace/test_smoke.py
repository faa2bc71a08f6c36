import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_floor_view_sets_security_headers(client):
    response = client.get(reverse("core:floor"))
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(response["X-Request-ID"]) >= 8


@pytest.mark.django_db
def test_chinese_by_default_even_for_an_english_browser(client):
    response = client.get(reverse("core:floor"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_language_switch_cookie_chooses_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/floor/"})
    assert response.status_code == 302
    assert client.get(reverse("core:floor"))["Content-Language"] == "en"


@pytest.mark.django_db
def test_unknown_language_cookie_falls_back_to_chinese(client):
    client.cookies["django_language"] = "xx"
    assert client.get(reverse("core:floor"))["Content-Language"] == "zh-hans"
