from django.urls import path

from . import views

app_name = "waitingroom"
urlpatterns = [path("waiting/", views.waiting, name="wait")]
