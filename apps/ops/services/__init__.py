"""Operations services: backup and restore, masked export, retention, data quality."""
