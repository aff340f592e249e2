"""The embedded stack as one supervised background process: ``shiplane up / status / down``.

``supervisor`` is the process (registry, API server + controllers + simulated nodes,
git/pipeline server, all with disk stores); ``operations`` starts, probes and stops it.
Where it listens is in the state file of ``shiplane.config.stack_state``.
"""

from shiplane.stack.errors import PortInUseError, StackError, StackStartError
from shiplane.stack.operations import (
    PartHealth,
    StackStatus,
    log_dir,
    stack_down,
    stack_status,
    stack_up,
)

__all__ = [
    "PartHealth",
    "PortInUseError",
    "StackError",
    "StackStartError",
    "StackStatus",
    "log_dir",
    "stack_down",
    "stack_status",
    "stack_up",
]
