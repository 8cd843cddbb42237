"""/staff/ routes: login (password, then TOTP), logout, log out everywhere, the home page."""

from django.urls import path

from apps.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("otp/", views.otp_view, name="otp"),
    path("logout/", views.logout_view, name="logout"),
    path("logout-everywhere/", views.logout_everywhere_view, name="logout-everywhere"),
]
