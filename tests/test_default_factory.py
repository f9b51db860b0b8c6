"""`default_factory` (issue 22, item 5): one that takes the validated data works, a factory is called once
per object (not once per plan), and until its object closes the field reads None."""

from __future__ import annotations

import itertools
from typing import Any

import unspool
from pydantic import BaseModel, Field

counter = itertools.count()


class Order(BaseModel):
    item: str
    serial: int = Field(default_factory=lambda: next(counter))
    label: str = Field(default_factory=lambda data: data["item"].upper() + "!")


def test_factories_run_per_object_with_the_validated_data() -> None:
    doc = '[{"item": "pen"}, {"item": "ink", "label": "given"}, {"item": "cap"}]'
    finals: list[Any] = []
    for k in (1, 4, len(doc)):
        s = unspool.stream([doc[i : i + k] for i in range(0, len(doc), k)], response_model=list[Order])
        for p in s:
            for o in p:
                if not unspool.is_complete(o):
                    assert o.serial is None and (o.label is None or "given".startswith(o.label))
        finals.append(s.get_final_response())
    for final in finals:
        assert [o.label for o in final] == ["PEN!", "given", "CAP!"]
        serials = [o.serial for o in final]
        assert serials == sorted(set(serials)) and len(serials) == 3
    # Every stream got new values: the factory is not called once per plan.
    assert len({o.serial for final in finals for o in final}) == 9
