"""The Lambda REST API edge: routing, shapes, authentication."""
