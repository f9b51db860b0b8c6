"""`unspool.from_openai`: an OpenAI or AsyncOpenAI client whose `stream`/`create` take a `response_model`.

Only `responses.stream`/`create` and `chat.completions.stream`/`create` change; everything else (and
those two `create`s when called without `response_model`) is the SDK's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from .session import AsyncStructuredStream, Session, StructuredStream
from .wire import API, CHAT, RESPONSES, Mode, Wire

if TYPE_CHECKING:
    import openai

__all__ = ["AsyncClient", "Client", "from_openai"]

_UNSET: Any = object()

# What `from_openai` reads streams with when not told: the tests run the OpenAI suite with each.
DEFAULT_WIRE = Wire.RUST

# Our keywords; every other one goes to the SDK unchanged.
_OURS = ("mode", "max_retries", "fail_fast", "min_interval", "context", "strict", "each_call_is_item", "wire")


def _import_openai() -> Any:
    """The openai SDK, imported at first use: `import unspool` needs only pydantic."""
    try:
        import openai
    except ModuleNotFoundError as e:
        if e.name is None or e.name.partition(".")[0] != "openai":
            raise  # the SDK is there but something it needs is not: its own error says what
        raise ModuleNotFoundError(
            'unspool.from_openai needs the openai SDK, an optional extra: pip install "unspool[openai]"',
            name="openai",
        ) from e
    return openai


def _session(
    api: API, default_mode: Mode, response_model: Any, kwargs: dict[str, Any], default_wire: Wire = Wire.RUST
) -> Session:
    ours = {k: kwargs.pop(k) for k in _OURS if k in kwargs}
    mode = ours.pop("mode", None) or default_mode
    ours["wire"] = ours.get("wire") or default_wire
    return Session(api, mode, response_model, kwargs, **ours)


class _Endpoint:
    """One SDK resource (`client.responses` or `client.chat.completions`) with structured calls added."""

    def __init__(self, resource: Any, api: API, mode: Mode, wire: Wire = Wire.RUST) -> None:
        self._resource = resource
        self._api = api
        self._mode = mode
        self._wire = wire

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resource, name)


class _SyncEndpoint(_Endpoint):
    def stream(self, *, response_model: Any, **kwargs: Any) -> StructuredStream[Any]:
        """Partial objects of `response_model` as the answer streams; the request goes on first iteration.

        Keywords of ours: `mode`, `max_retries` (0), `fail_fast` (False), `min_interval`, `context`,
        `strict`, `each_call_is_item` (False: with `mode="tools"` and `response_model=list[T]`, each
        parallel tool call is one `T`), `wire` (the client's: `"rust"` reads the body's bytes in the
        core, `"sdk"` the SDK's typed events); all others go to the SDK's `create`.
        """
        session = _session(self._api, self._mode, response_model, kwargs, self._wire)
        return StructuredStream(self._resource.create, session, self._resource.with_streaming_response.create)

    def create(self, *args: Any, response_model: Any = _UNSET, **kwargs: Any) -> Any:
        """With `response_model`: one non-streamed request, returning the validated object."""
        if response_model is _UNSET:
            return self._resource.create(*args, **kwargs)
        s = _session(self._api, self._mode, response_model, kwargs)
        while s.running:
            s.take_whole(self._resource.create(**s.begin(stream=False)))
            s.end()
        return s.result()


class _AsyncEndpoint(_Endpoint):
    def stream(self, *, response_model: Any, **kwargs: Any) -> AsyncStructuredStream[Any]:
        """Like the sync `stream`, for `async for` (not awaited itself)."""
        session = _session(self._api, self._mode, response_model, kwargs, self._wire)
        return AsyncStructuredStream(
            self._resource.create, session, self._resource.with_streaming_response.create
        )

    async def create(self, *args: Any, response_model: Any = _UNSET, **kwargs: Any) -> Any:
        """With `response_model`: one non-streamed request, returning the validated object."""
        if response_model is _UNSET:
            return await self._resource.create(*args, **kwargs)
        s = _session(self._api, self._mode, response_model, kwargs)
        while s.running:
            s.take_whole(await self._resource.create(**s.begin(stream=False)))
            s.end()
        return s.result()


class _Chat:
    def __init__(self, chat: Any, completions: _Endpoint) -> None:
        self._chat = chat
        self.completions = completions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)


class Client:
    """A wrapped `openai.OpenAI`; attributes other than `responses` and `chat` are the client's own."""

    _endpoint: type[_Endpoint] = _SyncEndpoint

    def __init__(self, client: Any, mode: Mode, wire: Wire = Wire.RUST) -> None:
        self.client = client
        self.mode = mode
        self.wire = wire
        self.responses = self._endpoint(client.responses, RESPONSES, mode, wire)
        self.chat = _Chat(client.chat, self._endpoint(client.chat.completions, CHAT, mode, wire))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def __enter__(self) -> Client:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.__exit__(*exc)


class AsyncClient(Client):
    """A wrapped `openai.AsyncOpenAI`."""

    _endpoint = _AsyncEndpoint

    async def __aenter__(self) -> AsyncClient:
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)


@overload
def from_openai(
    client: openai.AsyncOpenAI, *, mode: Mode | str = ..., wire: Wire | str | None = ...
) -> AsyncClient: ...
@overload
def from_openai(
    client: openai.OpenAI, *, mode: Mode | str = ..., wire: Wire | str | None = ...
) -> Client: ...
def from_openai(
    client: Any, *, mode: Mode | str = Mode.JSON_SCHEMA, wire: Wire | str | None = None
) -> Client:
    """Wraps an `OpenAI` or `AsyncOpenAI` client (any `base_url`); `mode` is the default for its calls,
    `wire` how their streams are read (`"rust"`, the default, or `"sdk"`)."""
    openai = _import_openai()
    chosen = Mode(mode)
    how = Wire(wire or DEFAULT_WIRE)
    if isinstance(client, openai.AsyncOpenAI):
        return AsyncClient(client, chosen, how)
    if isinstance(client, openai.OpenAI):
        return Client(client, chosen, how)
    raise TypeError(
        f"from_openai takes an openai.OpenAI or openai.AsyncOpenAI client, not {type(client).__name__}"
    )
