from django.urls import path

from . import views

app_name = "checkout"
urlpatterns = [
    path("order/add", views.add_to_order, name="add"),
    path("cart/", views.cart, name="cart"),
    path("orders/<int:order_id>/", views.order_page, name="order"),
    path("orders/<int:order_id>/poll", views.poll, name="poll"),
    path("orders/<int:order_id>/calendar.ics", views.calendar, name="calendar"),
    path("checkout/states", views.states, name="states"),
]
