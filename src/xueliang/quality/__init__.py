"""Video quality diagnosis (视频质量诊断, VQD): pure detectors, arrays in, values out.

>>> from xueliang.quality import diagnose, make_reference, Thresholds
>>> d = diagnose(frame_bgr, previous=earlier_frame, reference=camera_reference)
>>> d.ok, [(x.kind, x.score) for x in d.defects], d.metrics["luminance"]

See :mod:`xueliang.quality.detect` for the detectors and :class:`Thresholds` for the
configurable decision thresholds.  :mod:`xueliang.quality.evalset` (needs scikit-image)
builds the labelled evaluation set.
"""

from .detect import ANALYSIS_SIZE, diagnose, diagnose_with_reference, make_reference
from .model import Defect, DefectKind, Diagnosis, Reference, Thresholds

__all__ = [
    "ANALYSIS_SIZE",
    "Defect",
    "DefectKind",
    "Diagnosis",
    "Reference",
    "Thresholds",
    "diagnose",
    "diagnose_with_reference",
    "make_reference",
]
