from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles_after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    """After `migrate` (and a test database flush), once the last app's permissions exist, make
    the role groups match apps/common/roles.py."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if not with_models or sender.label != with_models[-1].label:
        return
    from apps.common.roles import roles_sync

    roles_sync(strict=False)


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from apps.common import log_redaction

        log_redaction.install()  # no credential in any log record, whoever logs it
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="finsys.roles_sync")
