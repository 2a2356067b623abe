"""`cilium-tune verify`: prove on every node that the tuning is live and the cluster still works."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.cli.options import timeout_option
from cilium_tune.errors import CiliumTuneError, FindingsError, InputError

EXAMPLES = """
\b
Examples:
  cilium-tune verify -p lab                               # every check, every node
  cilium-tune verify -p lab -f veth.yaml --check dual-stack   # one family, with the values apply used
  cilium-tune verify --check 'ingress/https/*' -o json    # the HTTPS checks as JSON
  cilium-tune verify --junit verify.xml --keep            # JUnit for CI; keep the pods for the next run
\b
Checks are named family/scenario/action (dual-stack/pod-to-pod-cross-node/ipv6-lab-1-to-lab-2); --check
takes globs, and a pattern with fewer segments selects everything under it. Verify runs a server and a
client pod on every node in its own namespace (cilium-tune-verify), reads the results from the client
pods' logs (no pods/exec needed) and deletes everything it created, also on failure and Ctrl-C, unless
--keep. Exit codes: 0 all passed (skipped and explained included), 1 a check failed, 2 bad input, 3 the
cluster could not be reached.
"""

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_COLOURS = {"fail": "red", "error": "red", "warn": "yellow", "explained": "cyan", "skip": "blue", "pass": "green"}


def _style(text: str, outcome: str) -> str:
    return click.style(text, fg=_COLOURS.get(outcome), bold=outcome in ("fail", "error"))


@click.command("verify", epilog=EXAMPLES)
@click.option("-p", "--profile", "profile_ref", metavar="NAME|FILE", help="Profile [default: skyforge-dev].")
@click.option("-f", "--values", "value_files", multiple=True, metavar="FILE",
              help="Extra values files after the overlays (those `apply` was given).")
@click.option("--chart", metavar="DIR|TGZ", help="Chart to render the desired cilium-config from "
              "(default: the profile's).")
@click.option("--check", "patterns", multiple=True, metavar="GLOB", help="Only these checks (repeatable).")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--junit", "junit_file", metavar="FILE", help="Also write a JUnit XML report (one case per check).")
@click.option("--keep", is_flag=True, help="Keep the verify pods (a later run reuses them).")
@timeout_option(default=90.0, help="Longest wait for the pods and their first probe round (any one API call: "
                "at most 30 s of it).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default $KUBECONFIG).")
@click.option("--context", "kube_context", help="Kubeconfig context (default: the current context).")
@click.option("-n", "--namespace", default="kube-system", show_default=True, help="Namespace of the Cilium release.")
@click.option("--release", default="cilium", show_default=True, help="Helm release name of Cilium.")
@click.option("--verify-namespace", default="cilium-tune-verify", show_default=True,
              help="Namespace for verify's pods and Services.")
@click.option("--image", default=None, metavar="IMAGE",
              help="Image of the client and server pods (needs sh, curl, ip and python3) "
                   "[default: nicolaka/netshoot:v0.13].")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Verify ingress certificates against these CAs (else the chain is reported unverified).")
@click.option("--no-probes", is_flag=True, help="Run no privileged node probe (the kube-proxy chain and CNI "
              "file checks are then skipped).")
@click.option("--probe-image", default="debian:bookworm-slim", show_default=True, help="Image of the node probes.")
@click.option("--helm", "helm_path", metavar="PATH", help="helm binary used to render the desired cilium-config.")
@click.option("-v", "--verbose", is_flag=True, help="Show the evidence of every check, not only of failures.")
def verify(
    profile_ref: str | None,
    value_files: tuple[str, ...],
    chart: str | None,
    patterns: tuple[str, ...],
    output: str,
    junit_file: str | None,
    keep: bool,
    timeout: float,
    kubeconfig: str | None,
    kube_context: str | None,
    namespace: str,
    release: str,
    verify_namespace: str,
    image: str | None,
    ca_bundle: str | None,
    no_probes: bool,
    probe_image: str,
    helm_path: str | None,
    verbose: bool,
) -> None:
    """Prove on every node that the tuning is live and the cluster still works.

    Datapath (agents Ready, cilium-config as desired, each agent's routing, device mode, masquerading, BIG
    TCP and kube-proxy replacement), dual-stack addresses and traffic (pod to pod on the same node and
    across nodes, pod to Service, both families), no kube-proxy, Cilium as the CNI, the Gateway on every
    node (HTTP by Host, HTTPS by SNI, no-SNI reset) and what VM workloads need. Known benign states are
    reported as explained, with the upstream link.
    """
    from cilium_tune.adapters.kube import LightkubeAPI
    from cilium_tune.checks.framework import Selection
    from cilium_tune.checks.runner import VerifyOptions, run_verify
    from cilium_tune.checks.workload import DEFAULT_IMAGE
    from cilium_tune.files import write_atomic
    from cilium_tune.report import json as json_report
    from cilium_tune.report.junit import render_junit_setup_error, render_report_junit
    from cilium_tune.report.model import Outcome
    from cilium_tune.report.text import render_report

    for flag, value in (("--verify-namespace", verify_namespace), ("--namespace", namespace)):
        if not _LABEL.match(value):
            raise InputError(f"{flag} {value!r}: not a Kubernetes namespace name",
                             hint="lower-case letters, digits and '-', at most 63 characters")
    _check_patterns(patterns)
    opts = VerifyOptions(
        profile_ref=profile_ref,
        value_files=value_files,
        chart=chart,
        selection=Selection(tuple(patterns)),
        namespace=verify_namespace,
        cilium_namespace=namespace,
        release=release,
        server_image=image or DEFAULT_IMAGE,
        client_image=image or DEFAULT_IMAGE,
        ca_bundle=Path(ca_bundle).read_text(encoding="utf-8") if ca_bundle else None,
        keep=keep,
        timeout=timeout,
        probe_nodes=not no_probes,
        probe_image=probe_image,
        helm=helm_path,
    )

    def progress(message: str) -> None:
        click.echo(f"verify: {message}", err=True)

    try:
        kube = LightkubeAPI(kubeconfig, kube_context, timeout=min(timeout, 30.0))
        try:
            report = run_verify(kube, opts, progress)
        finally:
            kube.close()
    except CiliumTuneError as exc:
        if junit_file:
            write_atomic(junit_file, render_junit_setup_error(exc.message, exc.hint, kind="verify"))
        raise
    if output in MACHINE:
        echo_document(json_report.render_report(report), output, "cilium-tune/verify/v1")
    else:
        from cilium_tune.cli.terminal import use_color

        styled = use_color(sys.stdout)
        click.echo(render_report(report, verbose=verbose, style=_style if styled else None), nl=False)
    if junit_file:
        write_atomic(junit_file, render_report_junit(report))
    if not report.cases:
        raise InputError(f"--check {' '.join(patterns)} selects no check", hint="see `cilium-tune verify --help`")
    if report.failed:
        failed = report.count(Outcome.FAIL) + report.count(Outcome.ERROR)
        raise FindingsError(f"verify failed: {failed} check(s) failed",
                            hint="each failure names the node and the evidence; rerun with --check NAME")


def _check_patterns(patterns: tuple[str, ...]) -> None:
    from cilium_tune.checks.framework import FAMILIES

    for pattern in patterns:
        family = pattern.split("/", 1)[0]
        if not any(ch in family for ch in "*?[") and family not in FAMILIES:
            raise InputError(f"--check {pattern}: no family {family!r}", hint=f"families: {', '.join(FAMILIES)}")
