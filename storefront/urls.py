from django.conf import settings
from django.urls import include, path

from . import health, metrics, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", views.event_list, name="home"),
    path("events/<int:event_id>/", views.event_detail, name="event-short"),
    path("events/<int:event_id>/<slug:slug>/", views.event_detail, name="event"),
    path("", include("checkout.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.insert(0, path("sandbox/", include("sandbox.urls")))
