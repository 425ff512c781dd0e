"""Sandbox mode's URLs: the API's emulator at /sandbox/, then the storefront's own."""

from django.urls import include, path

from . import urls

urlpatterns = [path("sandbox/", include("sandbox.urls")), *urls.urlpatterns]
