"""unspool: stream structured LLM output into Python objects, parsing each byte once."""

from ._core import Parser, __version__, parse_partial
from .errors import IncompleteOutputError, JSONDecodeError
from .markers import Done, NotNull
from .partial import Partial, is_complete
from .stream import AsyncStream, Stream, astream, stream

__all__ = [
    "AsyncStream",
    "Done",
    "IncompleteOutputError",
    "JSONDecodeError",
    "NotNull",
    "Parser",
    "Partial",
    "Stream",
    "__version__",
    "astream",
    "is_complete",
    "parse_partial",
    "stream",
]
