"""Persistence: the registry of Lambda resources and the content-addressed code store."""
