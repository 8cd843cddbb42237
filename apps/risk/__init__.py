"""Risk: limits, rules and scoring (the risk issue fills this app)."""
