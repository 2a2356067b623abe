"""Node probes: a POSIX sh script a short-lived pod runs on a node, and the pure parser of its output.

The script prints sections headed `### ct-probe <name> [<arg>]` so the parser needs no guessing:
`uname`, `kconfig <source>` (the selected CONFIG_* lines), `iptables <family>` (an `iptables-save`
digest: table and chain lines plus a rule count per table, to keep logs small on nodes with thousands of
kube-proxy rules), `cniconf <dir>` / `cnibin <dir>` (directory listings), `containerd <path>` (the CNI
lines of a containerd config) and `addrs` (interface addresses with their prefix length). It uses only sh,
uname, grep, zcat, awk, sed, ls and ip: present on Debian and in busybox.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter

from cilium_tune.facts.model import ContainerdCni, IptablesSummary, NodeProbe

MARK = "### ct-probe"

# Kernel options the rules care about (netkit, BPF datapath, tunnels, socket LB, tproxy).
KERNEL_OPTIONS: tuple[str, ...] = (
    "CONFIG_NETKIT",
    "CONFIG_BPF",
    "CONFIG_BPF_SYSCALL",
    "CONFIG_BPF_JIT",
    "CONFIG_CGROUP_BPF",
    "CONFIG_NET_CLS_BPF",
    "CONFIG_NET_CLS_ACT",
    "CONFIG_NET_SCH_INGRESS",
    "CONFIG_VXLAN",
    "CONFIG_GENEVE",
    "CONFIG_IPV6",
    "CONFIG_NETFILTER_XT_TARGET_TPROXY",
    "CONFIG_NETFILTER_XT_MATCH_SOCKET",
    "CONFIG_CRYPTO_USER_API_HASH",
    "CONFIG_FIB_RULES",
)

CNI_CONF_DIRS: tuple[str, ...] = ("/etc/cni/net.d", "/var/lib/rancher/k3s/agent/etc/cni/net.d")
CNI_BIN_DIRS: tuple[str, ...] = (
    "/opt/cni/bin",
    "/var/lib/rancher/k3s/data/cni",
    "/var/lib/rancher/k3s/data/current/bin",
)
CONTAINERD_CONFIGS: tuple[str, ...] = (
    "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    "/etc/containerd/config.toml",
)

_OPTIONS_RE = "|".join(KERNEL_OPTIONS)

PROBE_SCRIPT = f"""\
M='{MARK}'
echo "$M uname"; uname -r
r=$(uname -r)
if [ -r /proc/config.gz ]; then
  echo "$M kconfig /proc/config.gz"; zcat /proc/config.gz | grep -E '^(# )?({_OPTIONS_RE})[= ]'
elif [ -r "/boot/config-$r" ]; then
  echo "$M kconfig /boot/config-$r"; grep -E '^(# )?({_OPTIONS_RE})[= ]' "/boot/config-$r"
fi
digest() {{ awk '/^\\*/||/^:/{{print; next}} /^-A /{{n++}} /^COMMIT/{{print "#rules " n+0; n=0}}'; }}
if command -v iptables-save >/dev/null 2>&1; then
  out=$(iptables-save 2>/dev/null) && {{ echo "$M iptables ipv4"; printf '%s\\n' "$out" | digest; }}
fi
if command -v ip6tables-save >/dev/null 2>&1; then
  out=$(ip6tables-save 2>/dev/null) && {{ echo "$M iptables ipv6"; printf '%s\\n' "$out" | digest; }}
fi
for d in {" ".join(CNI_CONF_DIRS)}; do [ -d "$d" ] && {{ echo "$M cniconf $d"; ls -1A "$d"; }}; done
bins="{" ".join(CNI_BIN_DIRS)}"
for c in {" ".join(CONTAINERD_CONFIGS)}; do
  [ -r "$c" ] || continue
  echo "$M containerd $c"; grep -E '^[[:space:]]*(conf_dir|bin_dir|bin_dirs)[[:space:]]*=' "$c"
  for d in $(grep -E '^[[:space:]]*bin_dirs?[[:space:]]*=' "$c" | grep -o '"[^"]*"' | tr -d '"'); do
    bins="$bins $d"
  done
done
for d in $bins; do [ -d "$d" ] && {{ echo "$M cnibin $d"; ls -1A "$d"; }}; done
if command -v ip >/dev/null 2>&1; then echo "$M addrs"; ip -o addr show | awk '{{print $4}}'; fi
echo "$M end"
"""

_CONFIG_SET = re.compile(r"^(CONFIG_[A-Z0-9_]+)=(.*)$")
_CONFIG_UNSET = re.compile(r"^# (CONFIG_[A-Z0-9_]+) is not set$")
_TOML_STRING = re.compile(r'"([^"]*)"')


def parse_probe_output(node: str, text: str) -> NodeProbe:
    """Parse the script's stdout. A run that never printed the end mark is reported as not ok."""
    sections: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(MARK):
            parts = line[len(MARK) :].strip().split(" ", 1)
            sections.append((parts[0], parts[1] if len(parts) > 1 else "", []))
        elif sections:
            sections[-1][2].append(line)
    if not sections or sections[-1][0] != "end":
        return NodeProbe(node=node, ok=False, error="probe output incomplete (no end mark)")

    release: str | None = None
    kconfig_source: str | None = None
    kconfig: dict[str, str] | None = None
    iptables: list[IptablesSummary] = []
    conf_dirs: dict[str, tuple[str, ...]] = {}
    bin_dirs: dict[str, tuple[str, ...]] = {}
    containerd: ContainerdCni | None = None
    addresses: tuple[str, ...] | None = None
    for name, arg, lines in sections:
        if name == "uname":
            release = next((ln.strip() for ln in lines if ln.strip()), None)
        elif name == "kconfig":
            kconfig_source, kconfig = arg, _kernel_config(lines)
        elif name == "iptables" and arg in ("ipv4", "ipv6"):
            iptables.append(_iptables(arg, lines))
        elif name == "cniconf":
            conf_dirs[arg] = tuple(sorted(ln for ln in lines if ln))
        elif name == "cnibin":
            bin_dirs[arg] = tuple(sorted(ln for ln in lines if ln))
        elif name == "containerd" and containerd is None:
            containerd = _containerd(arg, lines)
        elif name == "addrs":
            addresses = _interfaces(lines)
    return NodeProbe(
        node=node,
        ok=True,
        kernel_release=release,
        kernel_config_source=kconfig_source,
        kernel_config=kconfig,
        iptables=tuple(iptables) if iptables else None,
        cni_conf_dirs=conf_dirs,
        cni_bin_dirs=bin_dirs,
        containerd=containerd,
        addresses=addresses,
    )


def _interfaces(lines: list[str]) -> tuple[str, ...]:
    """`ip -o addr` fourth fields (`198.18.0.11/24`, `fd00:18::11/64`), keeping only well-formed ones."""
    found = []
    for line in lines:
        try:
            found.append(str(ipaddress.ip_interface(line.strip())))
        except ValueError:
            continue
    return tuple(found)


def _kernel_config(lines: list[str]) -> dict[str, str]:
    """Every selected option gets a value: y/m/string when set, 'n' when unset or missing from the file."""
    found = dict.fromkeys(KERNEL_OPTIONS, "n")
    for line in lines:
        if m := _CONFIG_SET.match(line.strip()):
            found[m.group(1)] = m.group(2).strip('"')
        elif m := _CONFIG_UNSET.match(line.strip()):
            found[m.group(1)] = "n"
    return found


def _iptables(family: str, lines: list[str]) -> IptablesSummary:
    chains: list[str] = []
    rules = 0
    table = ""
    policies: dict[str, str] = {}
    for line in lines:
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            chains.append(name)
            policy = rest.split(" ", 1)[0]
            if table == "filter" and policy != "-":
                policies[f"{table}/{name}"] = policy
        elif line.startswith("#rules "):
            rules += int(line.split()[1])
    prefixes = Counter(
        "KUBE-SVC"
        if c.startswith("KUBE-SVC-")
        else "KUBE-SEP"
        if c.startswith("KUBE-SEP-")
        else "OLD_CILIUM"
        if c.startswith("OLD_CILIUM_")
        else "CILIUM"
        if c.startswith("CILIUM_")
        else ""
        for c in chains
    )
    return IptablesSummary(
        family=family,  # type: ignore[arg-type]  # the caller checked it
        chains=len(chains),
        rules=rules,
        kube_svc_chains=prefixes["KUBE-SVC"],
        kube_sep_chains=prefixes["KUBE-SEP"],
        cilium_chains=prefixes["CILIUM"],
        old_cilium_chains=prefixes["OLD_CILIUM"],
        default_policies=policies,
    )


def _containerd(path: str, lines: list[str]) -> ContainerdCni:
    conf_dir: str | None = None
    bin_dir: str | None = None
    for line in lines:
        key, _, value = line.strip().partition("=")
        key = key.strip()
        strings = _TOML_STRING.findall(value)
        if not strings:
            continue
        if key == "conf_dir" and conf_dir is None:
            conf_dir = strings[0]
        elif key in ("bin_dir", "bin_dirs") and bin_dir is None:
            bin_dir = strings[0]
    return ContainerdCni(config_path=path, conf_dir=conf_dir, bin_dir=bin_dir)
