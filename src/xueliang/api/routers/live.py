"""Live view (实时视频) and snapshots (抓图) of channels, and the browser player page.

``POST /channels/{id}/live`` grants a short-lived, single-use token and starts opening the
upstream; the WebSocket ``/live/{token}`` then carries a JSON ``init`` message (codec string,
picture size), the fMP4 init segment, and one fMP4 fragment per frame, the first on a
keyframe, for Media Source Extensions. Failures reach the viewer as
``{"type": "error", "message": ...}`` before the socket closes.

Callers who may not ``lift_privacy_mask`` on a channel get its snapshots and live video with
its privacy masks burned in (:func:`masks_for`; a lift is audited); the grant carries the masks
to the WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from xueliang.api.deps import CanSnapshot, CanViewLive, ContextDep, SessionDep, public
from xueliang.media import LiveError, MediaHub, MseInit, PrivacyMasks, Viewer, ViewerClosed, snapshot_jpeg
from xueliang.security import (
    Action,
    AuditEntry,
    ChannelHidden,
    Principal,
    ReasonRequired,
    append_audit,
    authorize_channel,
    may,
    page_policy,
)
from xueliang.security.privacy import load_privacy_masks

__all__ = ["LiveGrants", "mount", "player_router", "router"]

router = APIRouter(tags=["live"])
player_router = APIRouter(include_in_schema=False)

TOKEN_TTL = 30  # seconds a live token stays valid
SNAPSHOT_TIMEOUT = 10.0


class LiveGrants:
    """Single-use live tokens: random, bound to one channel (and the privacy masks to burn
    in, if any), valid ``ttl`` seconds."""

    def __init__(self, ttl: float = TOKEN_TTL) -> None:
        self.ttl = ttl
        self._grants: dict[str, tuple[str, PrivacyMasks | None, float]] = {}

    def issue(self, channel_id: str, masks: PrivacyMasks | None = None) -> str:
        now = time.monotonic()
        self._grants = {t: g for t, g in self._grants.items() if g[2] > now}
        token = secrets.token_urlsafe(24)
        self._grants[token] = (channel_id, masks or None, now + self.ttl)
        return token

    def redeem(self, token: str) -> tuple[str, PrivacyMasks | None] | None:
        """``(channel_id, masks)`` of a valid token, once."""
        grant = self._grants.pop(token, None)
        if grant is None or grant[2] <= time.monotonic():
            return None
        return grant[0], grant[1]


class LiveGrant(BaseModel):
    ws_url: str
    codec: str | None  # RFC 6381, when the channel's stream is already open; always in "init"
    expires_in: int
    masked: bool = False  # privacy masks are burned into this view


def get_hub(context: ContextDep) -> MediaHub:
    if context.media is None:
        raise HTTPException(503, "the media plane is not running")
    return context.media


HubDep = Annotated[MediaHub, Depends(get_hub)]


class LiveRequest(BaseModel):
    reason: str = Field("", max_length=500, description="Why the channel is viewed (audited)")


async def authorize(
    request: Request, session: SessionDep, principal: Principal, action: Action, gb_id: str, reason: str
) -> None:
    """404 outside the user's scope (as for a missing channel), 422 without a required reason;
    the access is audited."""
    try:
        await authorize_channel(
            session,
            principal,
            action,
            gb_id,
            reason=reason,
            client=request.client.host if request.client else "",
            reason_always_required=request.app.state.context.settings.view_reason_required,
        )
    except ChannelHidden as exc:
        raise HTTPException(404, str(exc)) from None
    except ReasonRequired as exc:
        raise HTTPException(422, str(exc)) from None


KeepMasks = Annotated[
    bool, Query(alias="masked", description="Keep the privacy masks even when allowed to lift them.")
]


async def masks_for(
    request: Request, session: SessionDep, principal: Principal, gb_id: str, keep: bool
) -> PrivacyMasks | None:
    """The channel's privacy masks to burn in for this caller: none when the channel has none,
    or when the caller may ``lift_privacy_mask`` there (and did not ask to keep them), which
    is audited."""
    masks = (await load_privacy_masks(session, gb_id)) or None
    if masks is None or keep or not await may(session, principal, Action.LIFT_PRIVACY_MASK, gb_id):
        return masks
    client = request.client.host if request.client else ""
    entry = AuditEntry(principal.username, Action.LIFT_PRIVACY_MASK.value, "ok", gb_id, client_address=client)
    await append_audit(session, entry)
    await session.commit()
    return None


@router.post("/channels/{gb_id}/live", response_model=LiveGrant)
async def open_live(
    principal: CanViewLive,
    session: SessionDep,
    gb_id: str,
    hub: HubDep,
    request: Request,
    body: LiveRequest | None = None,
    keep_masks: KeepMasks = False,
) -> LiveGrant:
    """A WebSocket URL for one viewer of the channel (fMP4/H.264 for MSE)."""
    await authorize(request, session, principal, Action.VIEW_LIVE, gb_id, body.reason if body else "")
    masks = await masks_for(request, session, principal, gb_id, keep_masks)
    grants: LiveGrants = request.app.state.live_grants
    token = grants.issue(gb_id, masks)
    hub.prewarm(gb_id)  # one click: the upstream opens while the browser connects
    ws_url = request.app.url_path_for("live_socket", token=token)
    codec = hub.codec_string(gb_id, masked=masks is not None)
    return LiveGrant(ws_url=str(ws_url), codec=codec, expires_in=TOKEN_TTL, masked=masks is not None)


@router.get(
    "/channels/{gb_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 502: {}, 504: {}},
)
async def snapshot(
    principal: CanSnapshot,
    session: SessionDep,
    gb_id: str,
    hub: HubDep,
    request: Request,
    keep_masks: KeepMasks = False,
    timeout: Annotated[float, Query(gt=0, le=60)] = SNAPSHOT_TIMEOUT,
    reason: Annotated[str, Query(max_length=500, description="Why (audited)")] = "",
) -> Response:
    """JPEG of the channel's latest keyframe (504 when none arrives in time, 502 when the
    camera cannot be opened), with the channel's privacy masks burned in unless the caller may
    lift them."""
    await authorize(request, session, principal, Action.SNAPSHOT, gb_id, reason)
    masks = await masks_for(request, session, principal, gb_id, keep_masks)
    await session.close()  # no connection held while waiting for a keyframe
    try:
        jpeg = await snapshot_jpeg(hub, gb_id, timeout=timeout, masks=masks)
    except LiveError as exc:
        raise HTTPException(exc.http_status, str(exc)) from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def _report(websocket: WebSocket, message: str, code: int = 1011) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps({"type": "error", "message": message}))
        await websocket.close(code)


async def _until_disconnect(websocket: WebSocket, viewer: Viewer) -> None:
    """Read (and ignore) client messages; the client leaving closes the viewer."""
    with contextlib.suppress(Exception):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    viewer.close()


async def _stream(websocket: WebSocket, viewer: Viewer) -> None:
    sent: MseInit | None = None
    while True:
        item = await viewer.get()
        fragment = item.fragment
        if fragment is None:
            continue
        if fragment.init is not sent:
            sent = fragment.init
            await websocket.send_text(sent.message())
            await websocket.send_bytes(sent.segment)
        await websocket.send_bytes(fragment.data)


@router.websocket("/live/{token}", dependencies=[Depends(public("authorised by its one-time live token"))])
async def live_socket(websocket: WebSocket, token: str) -> None:
    await websocket.accept()
    grant = websocket.app.state.live_grants.redeem(token)
    media: MediaHub | None = websocket.app.state.context.media
    if grant is None:
        await _report(websocket, "unknown or expired live token", 4403)
        return
    if media is None:
        await _report(websocket, "the media plane is not running", 1013)
        return
    channel_id, masks = grant
    try:
        viewer = media.watch(channel_id, masks=masks)
    except LiveError as exc:
        await _report(websocket, str(exc))
        return
    watcher = asyncio.create_task(_until_disconnect(websocket, viewer))
    try:
        await _stream(websocket, viewer)
    except ViewerClosed:
        pass
    except LiveError as exc:
        await _report(websocket, str(exc))
    except (WebSocketDisconnect, OSError, RuntimeError):  # the client went away mid-send
        pass
    finally:
        viewer.close()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


@player_router.get(
    "/player", response_class=HTMLResponse, dependencies=[Depends(public("a page shell with no data"))]
)
async def player_page() -> HTMLResponse:
    """The browser player: ``/player?channel=GBID``."""
    page = resources.files("xueliang").joinpath("static/player.html").read_text(encoding="utf-8")
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", **page_policy(page)})


def mount(app: FastAPI, prefix: str) -> None:
    """Add the live routes under ``prefix`` and the player page at ``/player``."""
    app.state.live_grants = LiveGrants()
    app.include_router(router, prefix=prefix)
    app.include_router(player_router)
