"""Process supervision for execution environments: the Python zygote (fork server) client.

Isolation (namespaces, cgroups, mounts) will live beside it; this package owns every process
Hearth starts on a function's behalf and guarantees each one's exit is reported.
"""
