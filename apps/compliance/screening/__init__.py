"""AML watchlist screening: list formats (formats.py) and the fuzzy name matcher (matching.py).

Both are pure Python with no database access; the services in apps.compliance.aml store lists,
open cases and hook the matcher into onboarding and payments (docs/compliance.md).
"""
