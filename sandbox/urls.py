"""Mounted at /sandbox/. The API lives under api/public/v2/ (and api/public/, the latest); the
Enterprise API under api/public/enterprise/v1/ (and api/public/enterprise/, the latest)."""

from django.urls import include, path, re_path

from . import catalog_views as c
from . import control
from . import enterprise as e
from . import order_views as o

api = [
    path("", c.company),
    path("events", c.events),
    path("events/<str:event_id>", c.event_detail),
    path("events/<str:event_id>/operations/<str:op_id>", c.event_operation),
    path("venues", c.venues),
    path("venues/<str:venue_id>", c.venue_detail),
    path("categories", c.categories),
    path("recurring_events", c.recurring_events),
    path("countries", c.countries),
    path("countries/<str:country_id>/states", c.states),
    path("tickets", c.tickets),
    path("tickets/<str:ticket_id>", c.ticket_detail),
    path("tickets/<str:ticket_id>/email", c.ticket_email),
    path("orders", o.create_order),
    path("orders/<str:order_id>", o.get_order_or_update),
    path("orders/<str:order_id>/poll", o.poll_order),
    path("orders/<str:order_id>/void", o.void_order),
    path("orders/<str:order_id>/apply_coupon_code", o.apply_coupon_code),
    path("orders/<str:order_id>/line_items/add", o.add_line_item),
    path("orders/<str:order_id>/line_items/remove", o.remove_line_item),
    path("orders/<str:order_id>/line_items/<str:line_item_id>", o.line_item),
    path("checkout/<str:order_id>", o.checkout_update),
    path("checkout/<str:order_id>/next", o.checkout_next),
    path("checkout/<str:order_id>/resume", o.checkout_resume),
    re_path(r"^(?P<rest>.*)$", c.routing_error_view),
]

enterprise = [
    path("", e.info),
    path("companies", e.companies),
    path("events", e.events),
    re_path(r"^(?P<rest>.*)$", e.routing_error_view),
]

urlpatterns = [
    # Before api/public/, whose catch-all would answer these paths with the v2 routing error.
    path("api/public/enterprise/v1/", include(enterprise)),
    path("api/public/enterprise/v1", e.info),
    path("api/public/enterprise/", include(enterprise)),
    path("api/public/enterprise", e.info),
    path("api/public/v2/", include(api)),
    path("api/public/v2", c.company),
    path("api/public/", include(api)),
    path("control/orders/<int:order_id>/expire", control.expire_order),
    path("control/orders/<int:order_id>", control.order_info),
    path("control/variants/<int:variant_id>/stock", control.variant_stock),
    path("control/faults", control.faults),
    path("control/operations", control.operation_plans),
    path("control/events/<int:event_id>/operations/<str:op_id>", control.event_operation),
    path("control/stats", control.stats),
    path("control/companies", control.scale_companies),
    path("control/catalog_version", control.catalog_version),
    path("health", control.health),
    re_path(r"^tickets/(?P<number>[\w-]+)\.(?P<ext>pdf|pkpass)$", c.ticket_file),
]
