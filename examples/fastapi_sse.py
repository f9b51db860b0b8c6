"""A FastAPI endpoint that streams a trip plan to the browser as Server-Sent Events.

`POST /itinerary` with a body such as `{"destination": "Portugal", "days": 7}` answers with
`text/event-stream`: one `data:` event per update of the growing `list[Stop]`, then `event: done` with the
validated list, or `event: error` if the answer broke off or failed validation. `nights` is an integer,
so a page never receives a half-written number, only `null` until it is whole.

Needs FastAPI and an ASGI server (`pip install fastapi uvicorn`); run
`uvicorn fastapi_sse:app --app-dir examples` and try
`curl -N localhost:8000/itinerary -H 'content-type: application/json' -d '{"destination": "Portugal"}'`.
The app calls the real API when OPENAI_API_KEY is set. Offline, serve a JSON list of objects with
`place`, `nights` (an integer >= 1) and `highlight` with
`python -m unspool.testing --document stops.json --port 8001` (it prints its URL), and start uvicorn
with OPENAI_BASE_URL set to that URL and any OPENAI_API_KEY.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import unspool
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI
from pydantic import BaseModel, Field


class Stop(BaseModel):
    place: str
    nights: int = Field(ge=1)
    highlight: str


class TripRequest(BaseModel):
    destination: str
    days: int = Field(default=7, ge=1, le=30)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One HTTP connection pool for the app's lifetime, closed on shutdown.
    async with unspool.from_openai(AsyncOpenAI()) as client:
        app.state.llm = client
        yield


app = FastAPI(lifespan=lifespan)


def sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


@app.post("/itinerary")
async def itinerary(trip: TripRequest, request: Request) -> StreamingResponse:
    stream = request.app.state.llm.chat.completions.stream(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You plan relaxed trips by train."},
            {"role": "user", "content": f"Plan {trip.days} days in {trip.destination}, stop by stop."},
        ],
        response_model=list[Stop],
    )

    async def events() -> AsyncIterator[str]:
        # `async with` closes the upstream request if the browser goes away mid-answer.
        async with stream:
            try:
                async for stops in stream:
                    yield sse([stop.model_dump() for stop in stops])
                plan = await stream.get_final_response()
            except Exception as exc:
                yield sse({"message": str(exc)}, event="error")
            else:
                yield sse([stop.model_dump() for stop in plan], event="done")

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
