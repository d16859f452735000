"""Schemathesis hooks for scripts/fuzz-api.sh (test tooling only).

Two rules of the API are not expressible in OpenAPI and would make schema-valid requests look
wrongly rejected, so valid values are adjusted before each call (invalid ones are left alone,
so negative tests still send them):
- an Idempotency-Key is single-use per request body (reuse with another body is 422, as the
  IETF Idempotency-Key draft says): a valid key is replaced by a fresh random one;
- an outcome cannot be observed before its application was decided: a valid RFC 3339
  `observed_at` is replaced by the current time.
"""
import datetime
import uuid

import schemathesis


def _valid_key(value):
    return isinstance(value, str) and 1 <= len(value) <= 128 and all(33 <= ord(c) <= 126 for c in value)


def _rfc3339(value):
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and _valid_key(headers[name]):
            headers[name] = uuid.uuid4().hex
    body = case.body
    if isinstance(body, dict) and _rfc3339(body.get("observed_at")):
        now = datetime.datetime.now(datetime.timezone.utc)
        body["observed_at"] = now.isoformat().replace("+00:00", "Z")
    return None
