"""Inspection (巡检): output checks (出图检测), video quality diagnosis on their pictures,
RTSP online probes, and the scheduler that sweeps the fleet.

>>> inspector = Inspector(sessions, TargetOpener(gb=GbInviteOpener(signalling), hub=hub))
>>> finding = await inspector.inspect(target)          # one channel, now
>>> await InspectionScheduler(inspector, InspectionConfig()).run()   # the whole fleet

Results: a :class:`Finding` per inspection (with a JPEG thumbnail) and availability
intervals ``output`` (``ok``/``fail``) and ``integrity`` (``intact`` or a defect name).
"""

from xueliang.inspection.analysis import (
    Analysis,
    analyse_capture,
    decode_picture,
    diagnosis_state,
    reference_from_bytes,
    reference_to_bytes,
)
from xueliang.inspection.check import (
    Capture,
    CheckConfig,
    FailureClass,
    OutputFailure,
    StreamOpener,
    capture_keyframes,
    classify_live_error,
)
from xueliang.inspection.models import ChannelReference, Finding
from xueliang.inspection.openers import GbInviteOpener, HubTap, StreamTarget, TargetOpener, rtsp_opener
from xueliang.inspection.probe import ProbeResult, parse_response, probe_rtsp
from xueliang.inspection.schedule import Candidate, plan
from xueliang.inspection.service import InspectionConfig, InspectionScheduler, Inspector, run_check
from xueliang.inspection.startup import start_inspection

__all__ = [
    "Analysis",
    "Candidate",
    "Capture",
    "ChannelReference",
    "CheckConfig",
    "FailureClass",
    "Finding",
    "GbInviteOpener",
    "HubTap",
    "InspectionConfig",
    "InspectionScheduler",
    "Inspector",
    "OutputFailure",
    "ProbeResult",
    "StreamOpener",
    "StreamTarget",
    "TargetOpener",
    "analyse_capture",
    "capture_keyframes",
    "classify_live_error",
    "decode_picture",
    "diagnosis_state",
    "parse_response",
    "plan",
    "probe_rtsp",
    "reference_from_bytes",
    "reference_to_bytes",
    "rtsp_opener",
    "run_check",
    "start_inspection",
]
