"""Request bodies for table-driven refusal tests: a base body plus one case's changes."""

import json

MISSING = object()  # a case value that removes the key from the base body


def merged(base: dict, changes: dict, **ids: str) -> dict:
    """`base` updated with `changes` (MISSING deletes a key; "{start}"/"{end}" become image ids)."""
    out = dict(base)
    for key, value in changes.items():
        if value is MISSING:
            out.pop(key, None)
        else:
            out[key] = value
    text = json.dumps(out)
    for name, value in ids.items():
        text = text.replace("{" + name + "}", value)
    return json.loads(text)
