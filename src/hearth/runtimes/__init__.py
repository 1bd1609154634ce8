"""Code that runs INSIDE an execution environment, one package per runtime family.

Nothing here is imported by Hearth itself: these files are executed by the function's own
interpreter (which may be another Python version than Hearth's), so they use only the
standard library and import nothing from ``hearth``.
"""
