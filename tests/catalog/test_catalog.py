"""The key catalog on small values.yaml files written for these tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from cilium_tune.errors import InputError
from cilium_tune.profile import load_profile
from cilium_tune.values.catalog import KeyCatalog, UnknownKey, unknown_keys
from cilium_tune.values.overlays import render_overlays

CHART_VALUES = """\
# -- Top-level comment prose: not a key.
# ref: https://example.invalid/docs
debug:
  enabled: false
# -- Devices to attach to (example only)
# devices: ""
#disableThing: false
socketLB:
  # -- Enable socket LB
  enabled: false
  # -- Only the host namespace.
  # hostNamespaceOnly: false
  # -- (string) prose with a colon: like this
bpf:
  # @schema
  # type: [null, string]
  # @schema
  datapathMode: veth
  masquerade: ~
# -- Extra annotations
podAnnotations: {}
logging:
  # logOptions:
  #   format: json
  #   level: info
  level: info
gatewayAPI:
  hostNetwork:
    enabled: false
    nodes:
      # matchLabels:
      #   kubernetes.io/os: linux
operator:
  nodeSelector:
    kubernetes.io/os: linux
  replicas: 2
script: |
  # notAKey: inside a block scalar
  echo hi
"""


@pytest.fixture
def catalog() -> KeyCatalog:
    cat = KeyCatalog()
    cat.merge_values_text(CHART_VALUES, "values.yaml")
    return cat


@pytest.mark.parametrize(
    "path",
    [
        ("debug", "enabled"),
        ("devices",),
        ("disableThing",),
        ("socketLB", "hostNamespaceOnly"),
        ("bpf", "datapathMode"),
        ("logging", "logOptions"),
        ("logging", "logOptions", "format"),
        ("gatewayAPI", "hostNetwork", "nodes", "matchLabels"),
    ],
)
def test_real_and_commented_out_keys_are_known(catalog: KeyCatalog, path: tuple[str, ...]) -> None:
    assert catalog.knows(path)


@pytest.mark.parametrize("path", [("ref",), ("type",), ("bpf", "type"), ("notAKey",), ("socketLB", "prose")])
def test_prose_schema_annotations_and_block_scalars_are_not_keys(catalog: KeyCatalog, path: tuple[str, ...]) -> None:
    assert not catalog.knows(path)


def test_types_come_from_defaults_and_examples(catalog: KeyCatalog) -> None:
    assert catalog.expected_type(("socketLB", "enabled")) == "bool"
    assert catalog.expected_type(("socketLB", "hostNamespaceOnly")) == "bool"
    assert catalog.expected_type(("bpf", "datapathMode")) == "string"
    assert catalog.expected_type(("bpf", "masquerade")) is None  # null default: unknown
    assert catalog.expected_type(("operator", "replicas")) == "int"


def test_unknown_keys_with_suggestions(catalog: KeyCatalog) -> None:
    values = {
        "socketLb": {"enabled": True},
        "socketLB": {"hostNamespaceonly": True},
        "bpf": {"datapathmode": "netkit", "masquerade": True},
        "totallyNew": 1,
    }
    assert unknown_keys(values, catalog) == [
        UnknownKey(("socketLb",), ("socketLB",)),
        UnknownKey(("socketLB", "hostNamespaceonly"), ("socketLB", "hostNamespaceOnly")),
        UnknownKey(("bpf", "datapathmode"), ("bpf", "datapathMode")),
        UnknownKey(("totallyNew",), None),
    ]
    assert "did you mean 'socketLB'?" in unknown_keys(values, catalog)[0].message()


def test_free_form_maps_never_warn(catalog: KeyCatalog) -> None:
    values = {
        "podAnnotations": {"anything": "x", "nested": {"deep": 1}},
        "operator": {"nodeSelector": {"node-role.kubernetes.io/control-plane": ""}, "replicas": 1},
        "gatewayAPI": {"hostNetwork": {"nodes": {"matchLabels": {"role": "ingress"}}}},
    }
    assert unknown_keys(values, catalog) == []


def test_builtin_catalog_free_form_and_open_subtrees() -> None:
    builtin = KeyCatalog.builtin()
    values = {
        "tolerations": [{"operator": "Exists"}],
        "resources": {"limits": {"cpu": "1"}},
        "extraEnv": [{"name": "A", "value": "b"}],
        "hubble": {"relay": {"enabled": True}, "ui": {"enabled": True}},  # open: not listed, not warned
        "bpf": {"ctTcpMax": 1000, "datapathmode": "netkit"},  # open: only the near-miss is reported
    }
    assert [u.dotted for u in unknown_keys(values, builtin)] == ["bpf.datapathmode"]


def test_dotted_and_replaced_keys_explain_themselves() -> None:
    builtin = KeyCatalog.builtin()
    found = {u.dotted: u.message() for u in unknown_keys({"socketLB.enabled": True, "tunnel": "vxlan"}, builtin)}
    assert "nest it as socketLB.enabled" in found['"socketLB.enabled"']
    assert "removed in Cilium 1.15" in found["tunnel"]


@pytest.mark.parametrize("profile", ["skyforge-dev", "lab"])
def test_every_rendered_overlay_key_is_in_the_builtin_catalog(profile: str) -> None:
    for overlay in render_overlays(load_profile(profile)):
        assert unknown_keys(overlay.values, KeyCatalog.builtin()) == [], overlay.filename
        for dotted in overlay.comments:
            assert KeyCatalog.builtin().knows(tuple(dotted.split("."))), dotted


def test_from_chart_accepts_a_directory_a_tgz_and_a_values_file(tmp_path: Path) -> None:
    chart = tmp_path / "cilium"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: cilium\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(CHART_VALUES)
    tgz = tmp_path / "cilium-1.0.0.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for name in ("Chart.yaml", "values.yaml"):
            tar.add(chart / name, arcname=f"cilium/{name}")
        data = b"sub: {}\n"
        info = tarfile.TarInfo("cilium/charts/sub/values.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    for source in (chart, tgz, chart / "values.yaml"):
        cat = KeyCatalog.from_chart(source)
        assert cat.knows(("socketLB", "hostNamespaceOnly")), source
        assert cat.knows(("kubeProxyReplacement",))  # built-in keys stay known (template-only keys)
        assert () in cat.closed


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "has no values.yaml"),
        (lambda p: _write(p / "bad.yaml", "a: [1\n"), "not valid YAML"),
        (lambda p: _write(p / "list.yaml", "- 1\n"), "is not a mapping"),
    ],
)
def test_from_chart_bad_input(tmp_path: Path, make: object, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        KeyCatalog.from_chart(make(tmp_path))  # type: ignore[operator]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
