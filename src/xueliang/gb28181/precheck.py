"""UAS request checks that come before any method handling (RFC 3261 §8.2.1–§8.2.3, §10.3).

:func:`precheck_request` returns the error response to send, or None when the request may
be processed. It covers what RFC 4475 §3.3 exercises: unknown URI schemes (416), unknown
required extensions (420 with Unsupported), unsupported bodies (415 with Accept), an Accept
that rules out the answer's body (406), and a REGISTER whose To is not a SIP URI (400).
"""

from __future__ import annotations

from collections.abc import Iterable

from xueliang.gb28181.errors import SipError
from xueliang.gb28181.message import SipRequest, SipResponse, SipUri, make_response

__all__ = ["ACCEPTED_CONTENT_TYPES", "precheck_request"]

ACCEPTED_CONTENT_TYPES = frozenset({"application/sdp", "application/manscdp+xml"})


def precheck_request(
    request: SipRequest,
    *,
    supported_options: Iterable[str] = (),
    accepted_types: Iterable[str] = ACCEPTED_CONTENT_TYPES,
    to_tag: str | None = None,
) -> SipResponse | None:
    """The response that ends ``request`` before the TU sees it, or None (RFC 3261 §8.2)."""
    try:
        if not isinstance(request.request_uri, SipUri):  # §8.2.2.1
            return make_response(request, 416, to_tag=to_tag)
        supported = {o.lower() for o in supported_options}
        if request.method not in ("ACK", "CANCEL"):  # §8.2.2.3
            unknown = [o for o in request.values("Require") if o.lower() not in supported]
            if unknown:
                return make_response(request, 420, to_tag=to_tag,
                                     headers=[("Unsupported", ", ".join(unknown))])  # fmt: skip
        accepted = {t.lower() for t in accepted_types}
        if request.body and request.content_type not in accepted:  # §8.2.3
            return make_response(request, 415, to_tag=to_tag,
                                 headers=[("Accept", ", ".join(sorted(accepted)))])  # fmt: skip
        if request.method == "INVITE" and request.get("Accept") is not None:  # §8.2.3
            offered = {v.split(";")[0].strip().lower() for v in request.values("Accept")}
            if not offered & {"application/sdp", "application/*", "*/*"}:
                return make_response(request, 406, to_tag=to_tag)
        if request.method == "REGISTER" and not isinstance(request.to.uri, SipUri):  # §10.3
            return make_response(request, 400, "To must be a SIP or SIPS URI", to_tag=to_tag)
    except SipError as exc:
        return make_response(request, exc.status, exc.reason[:100], to_tag=to_tag)
    return None
