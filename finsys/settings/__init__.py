"""Settings modules: base, local (development), test and production.

`default_module()` picks the module used when DJANGO_SETTINGS_MODULE is not set:
production when FINSYS_ENV=production, local otherwise.
"""

import os


def default_module() -> str:
    if os.environ.get("FINSYS_ENV", "").strip().lower() == "production":
        return "finsys.settings.production"
    return "finsys.settings.local"
