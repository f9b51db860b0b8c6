"""unspool: stream structured LLM output into Python objects, parsing each byte once."""

from ._core import Parser, __version__, parse_partial, shortcuts
from .client import AsyncClient, Client, from_openai
from .errors import (
    ContentFilterError,
    IncompleteOutputError,
    JSONDecodeError,
    OutputLimitError,
    RefusalError,
    RetryError,
    WireError,
)
from .markers import Done, NotNull
from .partial import Partial, is_complete
from .schema import SchemaError
from .session import AsyncStructuredStream, StructuredStream
from .stream import AsyncStream, Stream, astream, stream
from .wire import Mode

__all__ = [
    "AsyncClient",
    "AsyncStream",
    "AsyncStructuredStream",
    "Client",
    "ContentFilterError",
    "Done",
    "IncompleteOutputError",
    "JSONDecodeError",
    "OutputLimitError",
    "Mode",
    "NotNull",
    "Parser",
    "Partial",
    "RefusalError",
    "RetryError",
    "WireError",
    "SchemaError",
    "Stream",
    "StructuredStream",
    "__version__",
    "astream",
    "from_openai",
    "is_complete",
    "parse_partial",
    "shortcuts",
    "stream",
]
