"""The tutorial's `Idea` model and three ideas, shared by the tests that stream them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Idea(BaseModel):
    title: str
    blurb: str = Field(..., max_length=140)


IDEAS = [
    {"title": "Note Ninja", "blurb": "Capture ideas at the speed of thought"},
    {"title": "Think Ink", "blurb": "Where messy thoughts become organized plans"},
    {"title": "Brain Dump Pro", "blurb": "Your second brain, always ready"},
]
