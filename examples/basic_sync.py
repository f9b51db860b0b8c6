"""Stream a `list[Tagline]` and watch it fill in: one print per update, then the validated list.

Every update is a real list of `Tagline` objects. Strings grow a few characters at a time, a new element
shows up as soon as its opening brace arrives, and `get_final_response()` returns the list after full
pydantic validation.

Run it against the real API with OPENAI_API_KEY set: `python examples/basic_sync.py`. Or offline:
serve a JSON list of taglines with `python -m unspool.testing --document taglines.json` (it prints its
URL), then run the script with OPENAI_BASE_URL set to that URL and any OPENAI_API_KEY.
"""

import unspool
from openai import OpenAI
from pydantic import BaseModel, Field


class Tagline(BaseModel):
    audience: str = Field(description="who the line speaks to")
    text: str = Field(max_length=80)


with OpenAI() as sdk:
    client = unspool.from_openai(sdk)
    stream = client.responses.stream(
        model="gpt-4o-mini",
        input="Write three taglines for a neighbourhood bike repair shop, each for a different audience.",
        response_model=list[Tagline],
    )
    for taglines in stream:
        print("so far:", taglines)
    final = stream.get_final_response()

for tagline in final:
    print(f"{tagline.audience}: {tagline.text}")
