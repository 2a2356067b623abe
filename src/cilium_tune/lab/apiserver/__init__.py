"""An emulated Kubernetes API server for the lab: real helm, kubectl and lightkube talk to it.

Start it in-process (`ApiServer(...).start()` -> URL, `.stop()`) or as a process
(`python -m cilium_tune.lab.apiserver --port 0 --ready-file PATH`). See docs in `server.py`, `api.py`
(object semantics and deletion) and `controllers.py` (what the built-in controllers do).
"""

from .server import ApiServer

__all__ = ["ApiServer"]
