"""A merchant's pages: the same on the default host, under /m/<slug>/, on its own domains
and framed (``tenancy.middleware``)."""

from django.urls import include, path

from catalog import views as catalog_views
from merchant_tools import resend
from tenancy import views as tenancy_views

urlpatterns = [
    path("", catalog_views.event_list, name="home"),
    path("events/<int:event_id>/", catalog_views.event_detail, name="event-short"),
    path("events/<int:event_id>/<slug:slug>/", catalog_views.event_detail, name="event"),
    path("tickets/resend/", resend.ticket_resend, name="ticket-resend"),
    path("brand.css", tenancy_views.brand_css, name="brand-css"),
    path("csrf", tenancy_views.csrf_cookie, name="csrf-cookie"),
    path("ended", tenancy_views.embed_ended, name="embed-ended"),
    path("", include("checkout.urls")),
    path("", include("waitingroom.urls")),
]
