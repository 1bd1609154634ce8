"""Hearth: AWS Lambda, run on your own machines."""

from hearth.config import Settings
from hearth.errors import LambdaError

__version__ = "0.1.0"

__all__ = ["LambdaError", "Settings", "__version__"]
