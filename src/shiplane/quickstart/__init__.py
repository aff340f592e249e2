"""``shiplane quickstart``: the guide end to end on the embedded stack, as a list of steps.

Today: scaffold payment-service (Model 1) and a platform repo (Model 2), lint
and render the chart for every environment. Later features append steps.
"""

from shiplane.quickstart.steps import (
    MARKER,
    STEPS,
    QuickstartContext,
    QuickstartReport,
    Step,
    StepRecord,
    StepResult,
    run_quickstart,
)

__all__ = [
    "MARKER",
    "STEPS",
    "QuickstartContext",
    "QuickstartReport",
    "Step",
    "StepRecord",
    "StepResult",
    "run_quickstart",
]
