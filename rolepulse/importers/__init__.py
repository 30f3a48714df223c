"""Turning other tools' job exports into posting events v1 (pure mapping; the CLI publishes)."""
