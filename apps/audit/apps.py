from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from apps.audit import receivers  # noqa: F401 - connects the lockout receiver
        from apps.audit.auditlog import auditlog_register_models
        from apps.audit.chains import register_audit_chain
        from apps.audit.middleware import auditlog_connect_request_context

        register_audit_chain()
        auditlog_register_models()
        auditlog_connect_request_context()
