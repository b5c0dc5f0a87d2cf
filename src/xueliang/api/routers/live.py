"""Live view (实时视频) and snapshots (抓图) of channels, and the browser player page.

``POST /channels/{id}/live`` grants a short-lived, single-use token and starts opening the
upstream; the WebSocket ``/live/{token}`` then carries a JSON ``init`` message (codec string,
picture size), the fMP4 init segment, and one fMP4 fragment per frame, the first on a
keyframe, for Media Source Extensions. Failures reach the viewer as
``{"type": "error", "message": ...}`` before the socket closes.
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
from xueliang.media import LiveError, MediaHub, MseInit, Viewer, ViewerClosed, snapshot_jpeg
from xueliang.security import Action, ChannelHidden, Principal, ReasonRequired, authorize_channel, page_policy

__all__ = ["LiveGrants", "mount", "player_router", "router"]

router = APIRouter(tags=["live"])
player_router = APIRouter(include_in_schema=False)

TOKEN_TTL = 30  # seconds a live token stays valid
SNAPSHOT_TIMEOUT = 10.0


class LiveGrants:
    """Single-use live tokens: random, bound to one channel, valid ``ttl`` seconds."""

    def __init__(self, ttl: float = TOKEN_TTL) -> None:
        self.ttl = ttl
        self._grants: dict[str, tuple[str, float]] = {}

    def issue(self, channel_id: str) -> str:
        now = time.monotonic()
        self._grants = {t: g for t, g in self._grants.items() if g[1] > now}
        token = secrets.token_urlsafe(24)
        self._grants[token] = (channel_id, now + self.ttl)
        return token

    def redeem(self, token: str) -> str | None:
        grant = self._grants.pop(token, None)
        if grant is None or grant[1] <= time.monotonic():
            return None
        return grant[0]


class LiveGrant(BaseModel):
    ws_url: str
    codec: str | None  # RFC 6381, when the channel's stream is already open; always in "init"
    expires_in: int


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


@router.post("/channels/{gb_id}/live", response_model=LiveGrant)
async def open_live(
    principal: CanViewLive,
    session: SessionDep,
    gb_id: str,
    hub: HubDep,
    request: Request,
    body: LiveRequest | None = None,
) -> LiveGrant:
    """A WebSocket URL for one viewer of the channel (fMP4/H.264 for MSE)."""
    await authorize(request, session, principal, Action.VIEW_LIVE, gb_id, body.reason if body else "")
    grants: LiveGrants = request.app.state.live_grants
    token = grants.issue(gb_id)
    hub.prewarm(gb_id)  # one click: the upstream opens while the browser connects
    ws_url = request.app.url_path_for("live_socket", token=token)
    return LiveGrant(ws_url=str(ws_url), codec=hub.codec_string(gb_id), expires_in=TOKEN_TTL)


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
    timeout: Annotated[float, Query(gt=0, le=60)] = SNAPSHOT_TIMEOUT,
    reason: Annotated[str, Query(max_length=500, description="Why (audited)")] = "",
) -> Response:
    """JPEG of the channel's latest keyframe (504 when none arrives in time, 502 when the
    camera cannot be opened)."""
    await authorize(request, session, principal, Action.SNAPSHOT, gb_id, reason)
    try:
        jpeg = await snapshot_jpeg(hub, gb_id, timeout=timeout)
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
    channel_id = websocket.app.state.live_grants.redeem(token)
    media: MediaHub | None = websocket.app.state.context.media
    if channel_id is None:
        await _report(websocket, "unknown or expired live token", 4403)
        return
    if media is None:
        await _report(websocket, "the media plane is not running", 1013)
        return
    try:
        viewer = media.watch(channel_id)
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
