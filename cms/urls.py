from django.urls import path

app_name = "cms"

urlpatterns: list = []
