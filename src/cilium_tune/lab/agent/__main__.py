"""`python3 -m cilium_tune.lab.agent`: the container command of the lab chart's agent DaemonSet."""

from __future__ import annotations

import sys

from cilium_tune.lab.agent.run import main

sys.exit(main())
