"""The stream core: per-resident state in arrays, Numba kernels, detections out.

Events come in as batches keyed by resident (:mod:`stream.core`); detections go out to alerting.
Kernels in :mod:`stream.kernels` are pure: arrays in, arrays out, no I/O and no clock reads.
"""

from stream.core import StreamCore
from stream.detections import Detection, DetectionKind

__all__ = ["Detection", "DetectionKind", "StreamCore"]
