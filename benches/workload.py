"""The shared benchmark workload: a product `Catalog` streamed in token-sized chunks.

Every bench of the project uses this one document so that figures from the core, the partial-model layer
and the OpenAI layer can be compared. Generation is seeded: the same size gives the same bytes on every
machine.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field

WORDS = (
    "fast light sturdy elegant compact durable quiet smart warm bright soft bold crisp smooth eco "
    "waterproof portable modular classic modern vintage premium budget everyday travel outdoor kitchen "
    "office garden studio café naïve über déjà-vu jalapeño façade smörgåsbord niño crème brûlée "
    "日本 東京 카페 привет мир γειά emoji 🚀 ✨ 🎧 📦 👍"
).split()
NAMES = ("Alice", "Bo", "Chloé", "Dmitri", "Eun-ji", "Farah", "Günther", "Hiro", "Inés", "José")


class Dimensions(BaseModel):
    width: float
    height: float
    depth: float


class Review(BaseModel):
    author: str
    rating: int = Field(ge=1, le=5)
    text: str


class Product(BaseModel):
    sku: str
    name: str
    description: str
    price: float
    currency: Literal["USD", "EUR", "JPY"]
    in_stock: bool
    stock_count: int
    tags: list[str]
    dimensions: Dimensions
    released: datetime
    discontinued: bool | None
    reviews: list[Review]


class Catalog(BaseModel):
    store: str
    products: list[Product]


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    text = " ".join(words)
    # Sprinkle the escapes an LLM really writes: quotes, newlines, backslashes.
    roll = rng.random()
    if roll < 0.2:
        text += ' "quoted"'
    elif roll < 0.3:
        text += "\nsecond line"
    elif roll < 0.35:
        text += " C:\\path\\to"
    return text.capitalize()


def product(rng: random.Random, i: int) -> dict:
    base = datetime(2020, 1, 1, tzinfo=timezone.utc)
    return {
        "sku": f"SKU-{i:06d}",
        "name": _sentence(rng, rng.randint(2, 4)),
        "description": _sentence(rng, 40),
        "price": round(rng.uniform(1, 2000), 2),
        "currency": rng.choice(["USD", "EUR", "JPY"]),
        "in_stock": rng.random() < 0.7,
        "stock_count": rng.randint(0, 5000),
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 5))],
        "dimensions": {
            "width": round(rng.uniform(1, 100), 1),
            "height": round(rng.uniform(1, 100), 1),
            "depth": round(rng.uniform(1, 100), 1),
        },
        "released": (base + timedelta(minutes=rng.randint(0, 3_000_000))).isoformat(),
        "discontinued": rng.choice([True, False, None]),
        "reviews": [
            {
                "author": rng.choice(NAMES),
                "rating": rng.randint(1, 5),
                "text": _sentence(rng, 15),
            }
            for _ in range(rng.randint(0, 3))
        ],
    }


def catalog_doc(n_products: int, seed: int = 42) -> str:
    """Compact JSON text of a catalog with `n_products` products (400 ≈ 325 KB)."""
    rng = random.Random(seed)
    data = {"store": "Ünspool Outfitters 🧵", "products": [product(rng, i) for i in range(n_products)]}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def ascii_only(text: str) -> str:
    """`text` with every non-ASCII character made `x`: as many characters, so the same token chunks."""
    return re.sub(r"[^\x00-\x7f]", "x", text)


# A run of characters between spaces and quotes that holds at least one non-ASCII character.
_NON_ASCII_WORD = re.compile(r'[^\s"]*[^\x00-\x7f][^\s"]*')


def some_non_ascii(text: str, keep: float, seed: int = 3) -> str:
    """`text` with only a share `keep` of its non-ASCII words left as they are (seeded draw), the
    others' non-ASCII characters made `x`: as many characters, so the same token chunks."""
    rng = random.Random(seed)

    def one(m: re.Match[str]) -> str:
        return m.group() if rng.random() < keep else ascii_only(m.group())

    return _NON_ASCII_WORD.sub(one, text)


def non_ascii_word_share(text: str) -> float:
    """The share of `text`'s words (runs between spaces and quotes) that hold a non-ASCII character."""
    words = re.findall(r'[^\s"]+', text)
    return len(_NON_ASCII_WORD.findall(text)) / len(words)


def token_chunks(text: str, seed: int = 7, low: int = 1, high: int = 6) -> list[str]:
    """Split text into chunks of `low`..`high` characters, as an LLM's tokens arrive."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        n = rng.randint(low, high)
        out.append(text[i : i + n])
        i += n
    return out


def renew(chunks: list[str]) -> None:
    """Replaces each chunk with an equal new `str`, as a stream's chunks are new objects each time.

    A `str` keeps its UTF-8 form once something asks for it: chunks reused from one timed pass to the
    next would all have it already, and a parser that asks for it would look faster than it is.
    """
    chunks[:] = [c.encode().decode() for c in chunks]


def fixed_chunks(data: bytes, size: int) -> list[bytes]:
    """Split bytes into chunks of `size` bytes (UTF-8 sequences may be cut)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def products_for_bytes(target: int) -> int:
    """How many products make a document of about `target` bytes."""
    per = len(catalog_doc(50).encode()) / 50
    return max(1, round(target / per))


if __name__ == "__main__":
    doc = catalog_doc(400)
    print(len(doc.encode()), "bytes,", len(token_chunks(doc)), "chunks")
