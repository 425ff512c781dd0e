"""A merchant's pages: the same on the default host, under /m/<slug>/, on its own domains
and in embed mode (see merchants.middleware)."""

from django.urls import include, path

from merchants import views as merchant_views

from . import resend, views

urlpatterns = [
    path("", views.event_list, name="home"),
    path("events/<int:event_id>/", views.event_detail, name="event-short"),
    path("events/<int:event_id>/<slug:slug>/", views.event_detail, name="event"),
    path("tickets/resend/", resend.ticket_resend, name="ticket-resend"),
    path("brand.css", merchant_views.brand_css, name="brand-css"),
    path("ended", merchant_views.embed_ended, name="embed-ended"),
    path("", include("checkout.urls")),
]
