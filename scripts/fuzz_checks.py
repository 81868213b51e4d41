"""Checks that scripts/fuzz-api.sh adds to schemathesis: what every answer of an Arrowhead core
system must satisfy, whatever it was sent."""

import schemathesis


@schemathesis.check
def no_internal_error(response, case):
    """No 500 or 502: a client mistake is a 4xx, a missing dependency a 503 that says so."""
    assert response.status_code not in (500, 502), (
        f"{response.status_code}: {response.text[:400]}"
    )


@schemathesis.check
def error_json(response, case):
    """Every 4xx and 5xx carries the Arrowhead error JSON (but the HTTP layer's bare 431)."""
    if response.status_code < 400 or response.status_code == 431:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} without JSON: {response.text[:200]!r}")
    assert isinstance(body, dict), f"not an object: {body!r}"
    for key in ("errorMessage", "errorCode", "exceptionType"):
        assert key in body, f"{key} missing: {body}"
    assert body["errorCode"] == response.status_code, f"errorCode differs from status: {body}"
