"""Deployment targets: ``Localhost`` (the embedded default) and ``Ray``.

    with hl.deploy.Localhost().start("prog.py:build", cluster_sizes={"Workers": 3}) as d:
        d.input("words").send_many(text.split())

Every process rebuilds the program from its address (``module:function`` or
``file.py:function``); see docs/deployment.md.
"""

from .deployment import Deployment as Deployment, DeploymentError as DeploymentError, PortInfo as PortInfo, deploy as deploy
from .localhost import LocalDeployment as LocalDeployment, Localhost as Localhost
from .ray import Ray as Ray, RayDeployment as RayDeployment
from .ray_placement import Placement as Placement
from .supervision import RestartPolicy as RestartPolicy

# --- TLS across machines
from ..net.tls import TlsFiles as TlsFiles

__all__ = ["Deployment", "DeploymentError", "PortInfo", "deploy", "LocalDeployment", "Localhost", "Ray", "RayDeployment", "Placement", "RestartPolicy", "TlsFiles"]
