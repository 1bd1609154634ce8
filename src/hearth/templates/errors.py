"""The one error a template can produce: what is wrong, and where."""

from __future__ import annotations


class TemplateError(Exception):
    """A template Hearth cannot apply. ``place`` names where (a path such as
    ``Resources.Fn.Properties.Handler``, or ``line 3, column 5``); nothing has been changed
    when it is raised before applying starts."""

    def __init__(self, place: str, message: str) -> None:
        super().__init__(f"{place}: {message}" if place else message)
        self.place = place
        self.message = message
