"""GB/T 28181 signalling core: pure, sans-I/O SIP, digest, MANSCDP, PTZ, SDP.

Bytes in, values out: no sockets, no clock (``now`` is passed in), no database. The
asyncio adapters around it live elsewhere.
"""

from xueliang.gb28181.assembly import AssembledCatalog, CatalogAssembler
from xueliang.gb28181.charset import DecodedBody, decode_body, encode_xml
from xueliang.gb28181.dialog import Dialog, DialogInput, DialogState
from xueliang.gb28181.digest import (
    Challenge,
    DigestCredentials,
    NonceSigner,
    NonceStatus,
    authorize,
    compute_response,
    make_challenge,
    parse_authorization,
    parse_challenge,
    verify_response,
)
from xueliang.gb28181.endpoint import SipEndpoint, make_cancel, make_failure_ack
from xueliang.gb28181.errors import (
    CharsetError,
    DialogError,
    DigestError,
    FramingError,
    ManscdpError,
    MessageTooLarge,
    ParseError,
    PtzError,
    SdpError,
    SipError,
    TransactionStateError,
    UnknownCommandError,
)
from xueliang.gb28181.events import (
    EndpointEvent,
    MalformedMessage,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from xueliang.gb28181.framing import SipStreamFramer
from xueliang.gb28181.guard import Lockout, RateLimiter
from xueliang.gb28181.manscdp import (
    CONTENT_TYPE,
    CatalogItem,
    CatalogNotify,
    CatalogQuery,
    CatalogResponse,
    Command,
    DeviceControl,
    DeviceControlResponse,
    DeviceInfoQuery,
    DeviceInfoResponse,
    DeviceStatusQuery,
    DeviceStatusResponse,
    Keepalive,
    ManscdpMessage,
    RecordInfoQuery,
    encode_manscdp,
    parse_manscdp,
    split_catalog,
)
from xueliang.gb28181.message import (
    AbsoluteUri,
    Address,
    CSeq,
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    make_response,
    parse_message,
    parse_uri,
    response_address,
    stamp_received,
)
from xueliang.gb28181.precheck import precheck_request
from xueliang.gb28181.presence import KeepaliveVerdict, Presence, PresenceTable
from xueliang.gb28181.ptz import PresetAction, PtzCommand, PtzKind
from xueliang.gb28181.sdp import (
    MediaDescription,
    MediaFormat,
    SessionDescription,
    make_ssrc,
    parse_sdp,
    parse_ssrc,
)
from xueliang.gb28181.transaction import T1, T2, T4, Transaction

__all__ = [
    "AssembledCatalog",
    "CatalogAssembler",
    "KeepaliveVerdict",
    "Lockout",
    "Presence",
    "PresenceTable",
    "RateLimiter",
    "CONTENT_TYPE", "T1", "T2", "T4", "AbsoluteUri", "Address", "CSeq", "CatalogItem",
    "CatalogNotify", "CatalogQuery", "CatalogResponse", "Challenge", "CharsetError", "Command",
    "DecodedBody", "DeviceControl", "DeviceControlResponse", "DeviceInfoQuery",
    "DeviceInfoResponse", "DeviceStatusQuery", "DeviceStatusResponse", "Dialog", "DialogError",
    "DialogInput", "DialogState", "DigestCredentials", "DigestError", "EndpointEvent",
    "FramingError", "Keepalive", "MalformedMessage", "ManscdpError", "ManscdpMessage",
    "MediaDescription", "MediaFormat", "MessageTooLarge", "NameAddr", "NonceSigner",
    "NonceStatus", "ParseError", "PresetAction", "PtzCommand", "PtzError", "PtzKind",
    "RecordInfoQuery", "RequestCancelled", "RequestReceived", "ResponseReceived", "SdpError",
    "SessionDescription", "SipEndpoint", "SipError", "SipRequest", "SipResponse",
    "SipStreamFramer", "SipUri", "Transaction", "TransactionStateError",
    "TransactionTimedOut", "UnknownCommandError", "Via", "authorize", "compute_response",
    "decode_body", "encode_manscdp", "encode_xml", "make_cancel", "make_challenge",
    "make_failure_ack", "make_response", "make_ssrc", "parse_authorization", "parse_challenge",
    "parse_manscdp", "parse_message", "parse_sdp", "parse_ssrc", "parse_uri",
    "precheck_request", "response_address", "split_catalog", "stamp_received",
    "verify_response",
]  # fmt: skip
