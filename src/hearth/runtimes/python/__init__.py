"""Hearth's Python runtime: ``bootstrap.py`` (the Runtime API client) and ``zygote.py`` (the fork server).

Both files run under the function's interpreter (Python 3.10-3.13), not Hearth's, and are
loaded by path: this package deliberately imports neither, so importing ``hearth`` never
pulls runtime code into the platform process.
"""
