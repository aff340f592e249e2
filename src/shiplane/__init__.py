"""shiplane — deliver microservices to Kubernetes, service-owned or GitOps.

The public API of each part lives in its package (``shiplane.scaffold``,
``shiplane.registry``, ...); this module only carries the version and the
error root.
"""

from shiplane.errors import ShiplaneError

__version__ = "0.1.0"

__all__ = ["ShiplaneError", "__version__"]
