from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from apps.common import log_redaction

        log_redaction.install()  # no credential in any log record, whoever logs it
