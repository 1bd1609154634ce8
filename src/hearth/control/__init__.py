"""The control plane: functions, versions, aliases, layers, policies, tags, concurrency.

API handlers parse and render; these modules decide. Each operation that changes state
runs its checks and writes inside one registry transaction.
"""
