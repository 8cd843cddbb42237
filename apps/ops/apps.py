from typing import Any

from django.apps import AppConfig


def _count_failed_login(**kwargs: Any) -> None:
    from apps.common.metrics import LOGIN_FAILURES

    LOGIN_FAILURES.labels("staff").inc()


class OpsConfig(AppConfig):
    name = "apps.ops"
    label = "ops"
    verbose_name = "Ops"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from apps.ops.metrics import register_ops_gauges

        register_ops_gauges()
        # A metric, not business logic: the signal only counts (API token refusals: apps.api.oauth).
        user_login_failed.connect(_count_failed_login, dispatch_uid="finsys.metrics.login_failed")
