"""finsys: an open-source core-banking system."""

from finsys.celery import app as celery_app

__all__ = ("celery_app",)
