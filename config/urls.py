"""The deployment's URLs: its own paths (health, metrics, the embed script, the admin), then
the default merchant's pages."""

from django.contrib import admin
from django.urls import include, path

from catalog import embedcheck
from infra import health, metrics
from tenancy import views as tenancy_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("embed.js", tenancy_views.embed_script, name="embed-js"),
    path("embed.v<int:version>.js", tenancy_views.embed_script, name="embed-js-versioned"),
    path("embed.v<int:version>/check", embedcheck.embed_check, name="embed-check"),
    path("embed.v<int:version>/check.js", embedcheck.embed_check, name="embed-check-js"),
    path("admin/", admin.site.urls),
    path("", include("config.shop_urls")),
]
