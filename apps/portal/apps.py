from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer web portal (/portal/): responsive self-service banking for customers."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.portal"
    verbose_name = "Customer portal"
