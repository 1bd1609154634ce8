"""Hearth: AWS Lambda, run on your own machines.

Layers (checked by tests/unit/test_layering.py; an import may only point down this list's
arrows, and no two folders may import each other, directly or round a cycle):

    cli, service, __main__     the composition root: builds every part; may import anything
      → http/                  HTTP in: function URLs, API Gateway, streamed invokes
                               (above api/: it uses its parsing, auth and invoke)
      → console/               the web console's page and assets       → api/ (its HTTP types)
      → api/                   HTTP surfaces: parse, validate, authenticate, render
                               (CloudWatch's API reads metrics/)
          → control/           the control plane's decisions        → store/
          → invoke/            the engine: router, leases, pool, environments, Runtime API
                                                                    → sandbox/, logs/, store/
          → events/            async queue, retry policy, destinations → store/, logs/
      → store/, sandbox/, logs/, metrics/  adapters; import only the kernel
      the kernel               config, errors, arns, models: import only each other

`control/` and `events/` may use the engine's records, but only through `invoke/types.py`
(plain data: Invocation, InvokeResult, Progress), never the engine itself. `runtimes/` runs
inside an execution environment and imports nothing else of Hearth.
"""

from hearth.config import Settings
from hearth.errors import LambdaError

__version__ = "0.1.0"

__all__ = ["LambdaError", "Settings", "__version__"]
