"""Quiet stream logging: one DEBUG line per list element, not one per update.

A stream yields an update every few characters, far too many to log. This script logs an episode once,
when its title has closed (`unspool.is_complete(element, "title")`), so each line shows a whole title,
then one INFO line for the validated result.

Run it against the real API with OPENAI_API_KEY set: `python examples/debug_logging.py`. Or offline:
serve a JSON list of objects with `title` and `pitch` with
`python -m unspool.testing --document episodes.json` (it prints its URL), then run the script with
OPENAI_BASE_URL set to that URL and any OPENAI_API_KEY. The log goes to stderr.
"""

import logging

import unspool
from openai import OpenAI
from pydantic import BaseModel

log = logging.getLogger("episodes")


class Episode(BaseModel):
    title: str
    pitch: str


def main() -> None:
    with OpenAI() as sdk:
        client = unspool.from_openai(sdk)
        stream = client.responses.stream(
            model="gpt-4o-mini",
            input="Plan three episodes of a podcast about the history of everyday objects.",
            response_model=list[Episode],
        )
        logged = 0
        for episodes in stream:
            while logged < len(episodes) and unspool.is_complete(episodes[logged], "title"):
                log.debug("episode %d: %s", logged + 1, episodes[logged].title)
                logged += 1
        final = stream.get_final_response()
    log.info("%d episodes, %d characters of JSON", len(final), len(stream.text))


if __name__ == "__main__":
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.DEBUG)
    main()
