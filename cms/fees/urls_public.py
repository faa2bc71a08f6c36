from django.urls import path

app_name = "fees"

urlpatterns: list = []
