"""The lab: a local stand-in cluster on one Linux machine.

`lab.apiserver` emulates the Kubernetes API that helm, kubectl and lightkube talk to; the node
namespaces, the kubelet and the `lab` CLI build the datapath side and reach the API only over HTTP.
"""
