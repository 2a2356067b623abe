"""Values the chart does not know or will refuse to render.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
