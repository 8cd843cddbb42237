"""Models of apps.support."""
