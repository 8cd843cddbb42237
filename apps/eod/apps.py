from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EodConfig(AppConfig):
    name = "apps.eod"
    label = "eod"
    verbose_name = _("End of day")
