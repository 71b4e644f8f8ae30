"""Driver scripts run inside the vendors' own virtualenvs (no asyncgroups import)."""
