"""The async client: `async for` over a growing reading list, then `await` the validated result.

Watch the `pages` column: a number is never shown half-written. It stays unknown (`?`) while its digits
arrive and appears whole once the number has closed, so `412` never shows up as `4` or `41` first.

Run it against the real API with OPENAI_API_KEY set: `python examples/async_stream.py`. Or offline:
serve a JSON list of objects with `title`, `pages` (an integer) and `author` with
`python -m unspool.testing --document books.json` (it prints its URL), then run the script with
OPENAI_BASE_URL set to that URL and any OPENAI_API_KEY.
"""

import asyncio

import unspool
from openai import AsyncOpenAI
from pydantic import BaseModel, Field


class Book(BaseModel):
    title: str
    pages: int = Field(gt=0)
    author: str


async def main() -> None:
    async with AsyncOpenAI() as sdk:
        client = unspool.from_openai(sdk)
        stream = client.responses.stream(
            model="gpt-4o-mini",
            input="Suggest four novels for a long train journey, with their page counts.",
            response_model=list[Book],
        )
        async for shelf in stream:
            if not shelf:
                continue
            latest = shelf[-1]
            pages = "?" if latest.pages is None else latest.pages
            print(f"  book {len(shelf)}: {latest.title} ({pages} pages) by {latest.author}")
        shelf = await stream.get_final_response()

    print(f"{len(shelf)} books, {sum(book.pages for book in shelf)} pages to read:")
    for book in shelf:
        print(f"- {book.title} by {book.author}, {book.pages} pages")


if __name__ == "__main__":
    asyncio.run(main())
