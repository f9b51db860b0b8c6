"""unspool: stream structured LLM output into Python objects, parsing each byte once."""

from ._core import Parser, __version__, parse_partial
from .errors import JSONDecodeError

__all__ = ["JSONDecodeError", "Parser", "__version__", "parse_partial"]
