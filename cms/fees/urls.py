from django.urls import path

app_name = "fees_api"

urlpatterns: list = []
