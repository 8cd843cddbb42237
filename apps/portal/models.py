"""Models of apps.portal."""
