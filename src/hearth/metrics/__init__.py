"""Metrics as AWS publishes them for Lambda: recorded off the invoke path, kept per minute."""
