"""Hearth's Python runtime: ``bootstrap.py`` (Runtime API client), ``zygote.py`` (fork server).

Both files run under the function's interpreter (Python 3.10-3.13), not Hearth's, and are
loaded by path: this package deliberately imports neither, so importing ``hearth`` never
pulls runtime code into the platform process.
"""
