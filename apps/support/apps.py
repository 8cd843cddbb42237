from django.apps import AppConfig


class SupportConfig(AppConfig):
    """Customer support: the FAQ staff maintain, the help assistant, feedback and tickets."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.support"
    verbose_name = "Customer support"
