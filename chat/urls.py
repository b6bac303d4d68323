"""URLs of the demo host website, mounted at /demo/."""

from django.urls import path

from chat import views

app_name = "demo"

urlpatterns = [
    path("", views.demo_page, name="page"),
    path("cards/", views.demo_cards_page, name="cards"),
    path("bot/", views.demo_bot_reply, name="bot"),
    path("login/", views.demo_login, name="login"),
]
