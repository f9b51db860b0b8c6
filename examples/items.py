"""`stream.items()`: each element of a list, once, validated, the moment its closing brace arrives.

No counting or bookkeeping in the loop: while dish 2 is still streaming, dish 1 has already been handed
over as a finished, validated `Dish`. (To look at unfinished elements too, iterate the stream itself and
ask `unspool.is_complete(element)`.)

Run it against the real API with OPENAI_API_KEY set: `python examples/items.py`. Or offline: serve a JSON
list of objects with `name`, `minutes` (an integer >= 1), `ingredients` (one to eight strings) and
`method` with `python -m unspool.testing --document dishes.json` (it prints its URL), then run the script
with OPENAI_BASE_URL set to that URL and any OPENAI_API_KEY.
"""

import unspool
from openai import OpenAI
from pydantic import BaseModel, Field


class Dish(BaseModel):
    name: str
    minutes: int = Field(ge=1)
    ingredients: list[str] = Field(min_length=1, max_length=8)
    method: str


with OpenAI() as sdk:
    client = unspool.from_openai(sdk)
    stream = client.responses.stream(
        model="gpt-4o-mini",
        input="Suggest four dinners that use up leftover rice, each ready in under 40 minutes.",
        response_model=list[Dish],
    )
    count = 0
    for count, dish in enumerate(stream.items(), start=1):
        print(f"{count}. {dish.name} ({dish.minutes} min)")
        print(f"   you need: {', '.join(dish.ingredients)}")
        print(f"   {dish.method}")

print(f"{count} dishes planned.")
