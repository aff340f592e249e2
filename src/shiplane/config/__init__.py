"""Typed workspace settings (``shiplane.yaml``) and where each value came from."""

from shiplane.config.loader import (
    CONFIG_ENV_VAR,
    CONFIG_FILENAME,
    STATE_DIR_ENV_VAR,
    Sourced,
    ValueSource,
    find_config,
    load_workspace,
    parse_workspace,
    resolve_setting,
)
from shiplane.config.models import (
    DEFAULT_ENVIRONMENTS,
    EMBEDDED,
    ClusterTarget,
    Environment,
    RegistryTarget,
    Workspace,
    is_dns1123_label,
)
from shiplane.config.stack_state import (
    StackState,
    read_stack_state,
    running_stack,
    stack_dir,
    write_stack_state,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILENAME",
    "DEFAULT_ENVIRONMENTS",
    "EMBEDDED",
    "STATE_DIR_ENV_VAR",
    "ClusterTarget",
    "Environment",
    "RegistryTarget",
    "Sourced",
    "StackState",
    "ValueSource",
    "Workspace",
    "find_config",
    "is_dns1123_label",
    "load_workspace",
    "parse_workspace",
    "read_stack_state",
    "resolve_setting",
    "running_stack",
    "stack_dir",
    "write_stack_state",
]
