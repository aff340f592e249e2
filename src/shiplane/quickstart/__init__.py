"""``shiplane quickstart``: the guide end to end on the embedded stack, as a list of steps.

Scaffold payment-service (Model 1) and a platform repo (Model 2), lint and render
the chart for every environment (``RENDER_STEPS``); then ``shiplane up``, the
pipeline to dev (v1 Ready), a code change pushed to the local git server, the
push-triggered pipeline and rolling update to v2, and the release history
(``delivery``).
"""

from shiplane.quickstart.delivery import DELIVERY_STEPS, VERSION_CHANGE, QuickstartError
from shiplane.quickstart.steps import (
    MARKER,
    RENDER_STEPS,
    STEPS,
    QuickstartContext,
    QuickstartReport,
    Step,
    StepRecord,
    StepResult,
    run_quickstart,
)

__all__ = [
    "DELIVERY_STEPS",
    "MARKER",
    "RENDER_STEPS",
    "STEPS",
    "VERSION_CHANGE",
    "QuickstartError",
    "QuickstartContext",
    "QuickstartReport",
    "Step",
    "StepRecord",
    "StepResult",
    "run_quickstart",
]
