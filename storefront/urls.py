from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from merchants import views as merchant_views

from . import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("embed.js", merchant_views.embed_script, name="embed-js"),
    path("embed.v<int:version>.js", merchant_views.embed_script, name="embed-js-versioned"),
    path("admin/", admin.site.urls),
    path("", include("storefront.shop_urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.insert(0, path("sandbox/", include("sandbox.urls")))
