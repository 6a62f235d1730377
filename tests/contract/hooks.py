"""schemathesis hooks for scripts/api-contract (loaded through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` is told (schemathesis.toml) that a schema-valid request may still be
refused with 400 or 422: the document cannot say that an organization must exist or that a
module's bytes must be valid WebAssembly, and docs/api.md documents those refusals. What it
must never refuse is the *shape* of a request the document allows: that is a disagreement
between the document and the server, and this check fails on it.
"""

import json

import schemathesis

# The messages with which the server refuses the shape of a request, not its meaning
# (host/src/api/extract.rs, and axum's query-string rejection).
SHAPE_ERRORS = (
    "the JSON body does not have the expected shape",
    "the body is not valid JSON",
    "Failed to deserialize query string",
)


@schemathesis.check
def schema_valid_requests_have_the_right_shape(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        message = json.loads(response.content)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    if any(message.startswith(shape) for shape in SHAPE_ERRORS):
        raise AssertionError(
            f"a request docs/openapi.json allows was refused for its shape ({response.status_code}): {message}"
        )
    return None
