"""Why a home alert was raised, in words: the rule (``details["rule"]``, which the console words in the
operator's language), its English reason (``details["reason"]``) and what the deadline relied on."""

from __future__ import annotations

from stream.detections import DetectionKind
from stream.kernels import home as k

BASIS_NAMES = ("population", "learned", "enrolled", "observed")
"""What a deadline relied on (:data:`stream.kernels.home.B_FIXED` …): fixed limits and population priors,
this home's learned routine, the archive's usual times, or the few nights seen so far."""
WAKE_BASIS = {
    "population": "population prior: no wake-up known yet",
    "learned": "learned",
    "enrolled": "the usual wake-up recorded at enrolment",
    "observed": "the latest wake-up of the first few nights",
}
BED_BASIS = {
    "population": "population prior",
    "learned": "learned",
    "enrolled": "the usual bed time recorded at enrolment",
    "observed": "the latest bed time of the first few nights",
}
RULE_REASONS = {
    "night_absence": "out of bed at night and not back",
    "not_up": "still resting after the usual wake-up time ({wake})",
    "not_up_unseen": "still resting after the usual wake-up time ({wake}); tonight's rest was not seen in the "
    "bedroom or bed (asleep in an armchair, or no sensor in the bedroom: its start told by the clock)",
    "bathroom_long": "in the bathroom longer than the limit",
    "evening_max": "an evening silence that never reached the bedroom, longer than an evening allows",
    "evening": "an evening silence outside the bedroom past the usual bed time ({bed})",
    "arrived": "silent since coming in through the entrance door",
    "back_soon": "silent since the entrance door soon after going out: back in, or out longer than this home's outings",
    "learned": "silence unusual for this home at this hour ({context})",
    "observed": "silence longer than any this home has shown at this hour so far ({context}; first days)",
    "population": "silence beyond the population limit ({context}; routine not learned yet)",
}
"""The rule that raised an alert (``details["rule"]``, which the console words in the operator's
language) and its English reason (``details["reason"]``)."""


def rule_of(kind: DetectionKind, flags: int, basis: str) -> str:
    """Which of :data:`RULE_REASONS` raised an alert of ``kind`` with the kernel's ``flags``."""
    if kind is DetectionKind.NIGHT_ABSENCE:
        return "night_absence"
    if kind is DetectionKind.NOT_UP:
        return "not_up_unseen" if flags & k.W_UNTRACED else "not_up"
    if kind is DetectionKind.BATHROOM_LONG:
        return "bathroom_long"
    if flags & k.W_EVENING_MAX:
        return "evening_max"
    if flags & k.W_EVENING:
        return "evening"
    if flags & k.W_ARRIVED:
        return "arrived"
    if flags & k.W_BACK_SOON:
        return "back_soon"
    return basis if basis in ("learned", "observed") else "population"
