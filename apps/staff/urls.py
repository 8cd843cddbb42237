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

# Customer support: the tickets inbox and the FAQ editor (apps/staff/views_support.py).
from apps.staff import views_support  # noqa: E402

urlpatterns += [
    path("support/tickets/", views_support.tickets, name="support-tickets"),
    path("support/tickets/<uuid:ticket_id>/", views_support.ticket, name="support-ticket"),
    path("support/faq/", views_support.faq, name="support-faq"),
    path("support/faq/new/", views_support.faq_new, name="support-faq-new"),
    path("support/faq/<int:faq_id>/", views_support.faq_edit, name="support-faq-edit"),
]
