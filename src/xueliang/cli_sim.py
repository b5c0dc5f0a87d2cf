"""``xueliang sim``: a simulated fleet of GB/T 28181 devices (register with ``app.command("sim")(sim)``)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Coroutine
from enum import StrEnum
from typing import Annotated, Any

import typer

from xueliang.runtime import run

__all__ = ["SimTransport", "sim"]


class SimTransport(StrEnum):
    udp = "udp"
    tcp = "tcp"


async def _with_rtsp_cameras(
    address: str, config: Any, fleet: Coroutine[Any, Any, dict[str, Any]]
) -> dict[str, Any]:
    """Run ``fleet`` beside an RTSP camera server on ``address``; its counts join the stats."""
    from xueliang.sim import VideoFaultSpec, parse_platform
    from xueliang.sim.rtsp import RtspCameraServer

    host, port = parse_platform(address)
    server = RtspCameraServer(faults=VideoFaultSpec.parse(config.video_faults), seed=config.seed)
    bound = await server.start(host, port)
    typer.echo(f"sim: RTSP cameras at rtsp://{bound[0]}:{bound[1]}/cam/<channel ID>", err=True)
    try:
        stats = await fleet
    finally:
        await server.close()
    return stats | {"rtsp_requests": server.requests}


def sim(
    platform: Annotated[
        str, typer.Option("--platform", help="The platform's SIP address HOST:PORT (loopback).")
    ],
    devices: Annotated[int, typer.Option(min=0, help="Number of simulated devices (NVRs).")],
    channels: Annotated[int, typer.Option(min=0, help="Channels (cameras) per device.")],
    platform_id: Annotated[
        str, typer.Option(envvar="XUELIANG_SIP_ID", help="Platform SIP ID [XUELIANG_SIP_ID].")
    ] = "34020000002000000001",
    domain: Annotated[
        str, typer.Option(envvar="XUELIANG_SIP_DOMAIN", help="SIP domain / realm [XUELIANG_SIP_DOMAIN].")
    ] = "3402000000",
    password: Annotated[
        str, typer.Option(envvar="XUELIANG_SIP_PASSWORD", help="Device password [XUELIANG_SIP_PASSWORD].")
    ] = "12345678",
    faults: Annotated[
        str,
        typer.Option(
            help="Fractions of faulty devices, e.g. offline=0.03,flapping=0.02,slow_catalog=0.05,"
            "fragmented=0.05,wrong_password=0.01,gb2312=0.3"
        ),
    ] = "",
    video_faults: Annotated[
        str,
        typer.Option(
            help="Live view: fractions of channels whose picture is faulty, e.g. blur=0.05,too_dark=0.03,"
            "occlusion=0.03,color_cast=0.02,frozen=0.02,noise=0.02,stripes=0.01,signal_loss=0.01"
        ),
    ] = "",
    h265: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Live view: fraction of channels sending H.265.")
    ] = 0.0,
    max_streams: Annotated[
        int, typer.Option(min=0, help="Live view: concurrent media sessions; beyond: 486 Busy Here.")
    ] = 256,
    clip_pool: Annotated[
        int,
        typer.Option(
            min=0,
            help="Live view: 0 gives each channel a clip showing its ID; N lets channels share N clips "
            "a fault (far fewer to encode for a large fleet).",
        ),
    ] = 0,
    rtsp: Annotated[
        str | None,
        typer.Option(
            help="Also serve simulated RTSP cameras at rtsp://HOST:PORT/cam/<channel ID> (loopback), "
            "their pictures faulty as --video-faults says."
        ),
    ] = None,
    transport: Annotated[SimTransport, typer.Option(help="SIP transport.")] = SimTransport.udp,
    seed: Annotated[int, typer.Option(help="Seed for names, places and which devices are faulty.")] = 7,
    keepalive: Annotated[float, typer.Option(min=0.1, help="Keepalive interval, s.")] = 60.0,
    register_expires: Annotated[int, typer.Option(min=0, help="Expires asked for in REGISTER, s.")] = 3600,
    civil_code: Annotated[
        str | None, typer.Option(help="Put every device in this district (6-digit civil code).")
    ] = None,
    stop_after: Annotated[float | None, typer.Option(min=0, help="Stop after this many seconds.")] = None,
    rate: Annotated[float, typer.Option(min=0.001, help="Registrations started per second.")] = 500.0,
    register_retry: Annotated[
        float, typer.Option(min=0, help="Wait after a failed registration, s (GB/T 28181: ≥ 60).")
    ] = 60.0,
    unregister: Annotated[
        bool, typer.Option("--unregister/--silent", help="On stop: unregister (Expires: 0) or go silent.")
    ] = False,
    first_index: Annotated[
        int, typer.Option(min=0, help="Index of the first device (run several sims with distinct IDs).")
    ] = 0,
    catalog_part_size: Annotated[
        int | None, typer.Option(min=1, help="Items per catalog MESSAGE (default 4 over UDP, 100 over TCP).")
    ] = None,
    devices_per_socket: Annotated[
        int, typer.Option(min=1, max=65535, help="UDP: devices sharing one socket (dealt round robin).")
    ] = 100,
    report_every: Annotated[float, typer.Option(min=0.1, help="Seconds between status lines.")] = 5.0,
    json_stats: Annotated[
        bool, typer.Option("--json", help="Print the final stats as one JSON line.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "WARNING",
) -> None:
    """A simulated fleet of GB/T 28181 devices that register, keep alive, answer queries and
    answer live-view INVITEs with video (each channel's ID and a clock, H.264 or H.265)."""
    from xueliang.sim import FaultSpec, SimConfig, parse_platform, run_fleet

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = SimConfig(
            platform=parse_platform(platform),
            platform_id=platform_id,
            domain=domain,
            password=password,
            devices=devices,
            channels=channels,
            faults=FaultSpec.parse(faults),
            transport=transport.value.upper(),
            seed=seed,
            keepalive=keepalive,
            register_expires=register_expires,
            civil_code=civil_code,
            rate=rate,
            register_retry=register_retry,
            unregister_on_stop=unregister,
            first_index=first_index,
            catalog_part_size=catalog_part_size,
            devices_per_socket=devices_per_socket,
            video_faults=video_faults,
            h265=h265,
            max_streams=max_streams,
            clip_pool=clip_pool,
        )
        from xueliang.sim.plan import FleetPlan

        FleetPlan(devices, channels, civil_code=civil_code)  # validates the civil code
        if rtsp:
            parse_platform(rtsp)  # loopback HOST:PORT, as the platform's address
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"sim: {devices} devices × {channels} channels over {config.transport} → "
        f"{platform} as {platform_id}@{domain}"
        + (f", faults {config.faults}" if faults else "")
        + (f", video faults {video_faults}" if video_faults else "")
        + (f", H.265 {h265:g}" if h265 else ""),
        err=True,
    )

    def report(line: str) -> None:
        typer.echo(line, err=True)

    fleet = run_fleet(config, stop_after=stop_after, report_every=report_every, report=report)
    stats = run(_with_rtsp_cameras(rtsp, config, fleet) if rtsp else fleet)
    if json_stats:
        sys.stdout.write(json.dumps(stats, ensure_ascii=False) + "\n")
