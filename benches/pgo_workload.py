"""The workload a profile-guided (PGO) build of the extension is trained on: `make wheel`, `make install-pgo`.

It runs what a stream runs, on documents that are not the benches' own (another seed and size of the
catalog, a list of small models, a lenient reply in a fence): `Parser` fed `str` chunks of token size
with `value` read after each, `bytes` in 64-byte chunks cut anywhere, whole documents, `parse_partial`,
and the partial-model layer's `stream` into Pydantic models. Code it leaves out is compiled as cold, so
whatever a release build should keep fast belongs here. Ends with an error if a result is wrong: a
profile of a broken run would be worse than none.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

import unspool  # noqa: E402
from workload import Catalog, catalog_doc, fixed_chunks, token_chunks  # noqa: E402


class Step(BaseModel):
    title: str
    minutes: int
    done: bool


def main() -> None:
    catalog = catalog_doc(150, seed=9)
    steps = json.dumps(
        [
            {"title": f'Step {i}: mix the «dough» 🍞 "well"', "minutes": i % 40, "done": i % 3 == 0}
            for i in range(800)
        ],
        ensure_ascii=False,
    )
    fenced = "Here it is:\n```json\n" + steps + "\n```\nAnything else?"
    for _ in range(3):
        for doc in (catalog, steps):
            expected = json.loads(doc)
            p = unspool.Parser()
            for c in token_chunks(doc, seed=23):
                p.feed(c)
                p.value
            assert p.finish() == expected
            p = unspool.Parser()
            for b in fixed_chunks(doc.encode(), 64):
                p.feed(b)
                p.value
            assert p.finish() == expected
            p = unspool.Parser()
            p.feed(doc)
            assert p.finish() == expected
            for cut in range(0, len(doc), len(doc) // 50):
                unspool.parse_partial(doc[:cut])
        p = unspool.Parser(lenient=True)
        for c in token_chunks(fenced, seed=29):
            p.feed(c)
            p.value
        assert p.finish() == json.loads(steps)

        s = unspool.stream(token_chunks(catalog, seed=31), response_model=Catalog)
        for _partial in s:
            pass
        assert s.get_final_response() == Catalog.model_validate_json(catalog)
        s2 = unspool.stream(token_chunks(steps, seed=37), response_model=list[Step])
        for _partial in s2:
            pass
        assert len(s2.get_final_response()) == 800


if __name__ == "__main__":
    main()
