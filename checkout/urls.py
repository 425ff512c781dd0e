from django.urls import path

from . import adding, calendar, cart, engine
from .steps import address

app_name = "checkout"
urlpatterns = [
    path("order/add", adding.add_to_order, name="add"),
    path("cart/", cart.cart, name="cart"),
    path("orders/<int:order_id>/", engine.order_page, name="order"),
    path("orders/<int:order_id>/poll", engine.poll, name="poll"),
    path("orders/<int:order_id>/calendar.ics", calendar.calendar, name="calendar"),
    path("checkout/states", address.state_field, name="states"),
]
