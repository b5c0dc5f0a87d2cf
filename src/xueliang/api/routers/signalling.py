"""The signalling plane at a glance: who is registered, what it has seen, what it refused."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException

from xueliang.api.deps import CanView, ContextDep

router = APIRouter(prefix="/signalling", tags=["signalling"])


@router.get("")
async def signalling_state(principal: CanView, context: ContextDep) -> dict[str, Any]:
    server = context.signalling
    if server is None:
        raise HTTPException(503, "signalling is not running")
    return {
        "sip": context.settings.sip,
        "sip_id": context.settings.sip_id,
        "domain": context.settings.sip_domain,
        "registered": len(server.presence),
        "transactions": server.endpoint.transaction_count,
        "pending_catalogs": server.catalogs.pending(),
        "directory_writes": {"applied": server.writer.applied, "failed": server.writer.failed},
        **asdict(server.stats),
    }
