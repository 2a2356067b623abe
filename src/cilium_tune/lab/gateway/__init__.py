"""Ingress on every node: the lab's stand-in for Cilium's Gateway API support in host-network mode.

`operator` reconciles Gateway API objects (statuses as Cilium 1.19.0-rc.1 reports them, the TLSRoute
error when the experimental CRD is missing, lab-CA certificates for HTTPS listeners); `proxy` runs on
every node (the cilium-envoy DaemonSet) and answers on the listener ports, HTTP and HTTPS with SNI
required as Envoy does. `crds` holds minimal Gateway API CRDs for the lab's API server.
"""
