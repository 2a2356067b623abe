"""Pure pieces of the API server: patches, protobuf decoding, selectors, Service addresses."""

from __future__ import annotations

import pytest

from cilium_tune.lab.apiserver import managed, patch, protobuf
from cilium_tune.lab.apiserver.errors import ApiError
from cilium_tune.lab.apiserver.selectors import field_selector, label_selector
from cilium_tune.lab.apiserver.services import ServiceAllocator

# --- patches ---------------------------------------------------------------------------------------------


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    live = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert patch.merge_patch(live, {"a": {"c": None, "d": 3}, "l": [3]}) == {"a": {"b": 1, "d": 3}, "l": [3]}
    assert live == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


def test_strategic_merge_merges_containers_by_name() -> None:
    live = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}
    out = patch.strategic_merge(live, {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "1"},
                                                      {"name": "a", "$patch": "delete"}]})
    assert out == {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "1"}]}


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    out = patch.json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/b/c"},
                                 {"op": "copy", "from": "/a/0", "path": "/z"}, {"op": "test", "path": "/z", "value": 1},
                                 {"op": "replace", "path": "/a/1", "value": 9}])
    assert out == {"a": [1, 9, 3], "b": {}, "z": 1}
    with pytest.raises(ApiError) as err:
        patch.json_patch(doc, [{"op": "remove", "path": "/missing"}])
    assert err.value.code == 422


def test_server_side_apply_prunes_what_the_manager_stopped_applying_unless_another_owns_it() -> None:
    last = {"data": {"x": "1", "y": "2", "shared": "s"}, "metadata": {"labels": {"a": "1", "b": "2"}}}
    live = managed.apply({"metadata": {}}, last, "helm", "v1", "", "t")
    live = managed.apply(live, {"data": {"other": "kept", "shared": "s"}}, "kubectl", "v1", "", "t")
    applied = {"data": {"x": "1", "z": "3"}, "metadata": {"labels": {"a": "1"}}}

    out = managed.apply(live, applied, "helm", "v1", "", "t")
    assert out["data"] == {"x": "1", "z": "3", "other": "kept", "shared": "s"}
    assert out["metadata"]["labels"] == {"a": "1"}
    assert {e["manager"]: e["fieldsV1"] for e in out["metadata"]["managedFields"]} == {
        "helm": {"f:data": {"f:x": {}, "f:z": {}}, "f:metadata": {"f:labels": {"f:a": {}}}},
        "kubectl": {"f:data": {"f:other": {}, "f:shared": {}}}}


def test_an_element_the_manager_stopped_applying_goes_whole_and_keeps_its_key_while_others_own_parts() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    live = managed.apply({"metadata": {}}, {"spec": {"env": env}}, "helm", "v1", "", "t")
    other = {**live, "spec": {"env": [*env[:2], {"name": "C", "value": "patched"}]}}
    managed.record_update(live, other, "kubectl-patch", "v1", "", "t")

    out = managed.apply(other, {"spec": {"env": env[:1]}}, "helm", "v1", "", "t", force=False)
    assert out["spec"]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "patched"}]


def test_an_apply_that_changes_another_managers_field_conflicts_unless_forced() -> None:
    live = managed.apply({"metadata": {}}, {"spec": {"replicas": 1, "template": {"spec": {"containers": [
        {"name": "agent", "image": "a:1"}]}}}}, "helm", "apps/v1", "", "t")
    patched = {**live, "spec": {**live["spec"], "replicas": 3}}
    managed.record_update(live, patched, "kubectl-patch", "apps/v1", "", "t")
    upgrade = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "agent", "image": "a:2"}]}}}}

    with pytest.raises(ApiError) as err:
        managed.apply(patched, upgrade, "helm", "apps/v1", "", "t")
    assert (err.value.code, err.value.reason) == (409, "Conflict")
    assert err.value.message == \
        'Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas'
    assert err.value.details["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl-patch" using apps/v1'}]
    forced = managed.apply(patched, upgrade, "helm", "apps/v1", "", "t", force=True)
    assert forced["spec"]["replicas"] == 1
    assert [e["manager"] for e in forced["metadata"]["managedFields"]] == ["helm"]
    owned = forced["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert owned == {'k:{"name":"agent"}': {".": {}, "f:image": {}, "f:name": {}}}


# --- protobuf --------------------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(num: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _entry(num: int, key: str, value: bytes | str) -> bytes:
    return _field(num, _field(1, key) + _field(2, value))


def test_decodes_a_helm_release_secret() -> None:
    meta = _field(1, "sh.helm.release.v1.demo.v1") + _field(3, "demo") + _entry(11, "owner", "helm")
    secret = _field(1, meta) + _entry(2, "release", b"\x00\x01binary") + _field(3, "helm.sh/release.v1")
    body = protobuf.MAGIC + _field(1, _field(1, "v1") + _field(2, "Secret")) + _field(2, secret)
    obj = protobuf.decode(body)
    assert obj["kind"] == "Secret" and obj["type"] == "helm.sh/release.v1"
    assert obj["metadata"] == {"name": "sh.helm.release.v1.demo.v1", "namespace": "demo",
                               "labels": {"owner": "helm"}}
    assert obj["data"] == {"release": "AAFiaW5hcnk="}


def test_decodes_delete_options_with_grace_and_propagation() -> None:
    opts = _varint(1 << 3 | 0) + _varint(0) + _field(4, "Background")
    body = protobuf.MAGIC + _field(1, _field(1, "v1") + _field(2, "DeleteOptions")) + _field(2, opts)
    assert protobuf.decode(body) == {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                                     "propagationPolicy": "Background"}


def test_unknown_protobuf_kind_is_415() -> None:
    body = protobuf.MAGIC + _field(1, _field(1, "v1") + _field(2, "Pod")) + _field(2, b"")
    with pytest.raises(ApiError) as err:
        protobuf.decode(body)
    assert err.value.code == 415


# --- selectors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", True), ("app==web,tier!=db", True), ("app in (web, api)", True), ("app notin (web)", False),
    ("tier", False), ("!tier", True), ("app", True),
])
def test_label_selector_grammar(selector: str, expected: bool) -> None:
    pred = label_selector(selector)
    assert pred is not None and pred({"metadata": {"labels": {"app": "web"}}}) is expected


def test_field_selector_on_any_path() -> None:
    pred = field_selector("spec.nodeName=n1,status.phase!=Failed")
    assert pred is not None
    assert pred({"spec": {"nodeName": "n1"}, "status": {"phase": "Running"}})
    assert not pred({"spec": {"nodeName": "n2"}, "status": {"phase": "Running"}})


# --- Service addresses -----------------------------------------------------------------------------------


def _svc(**spec: object) -> dict[str, object]:
    return {"metadata": {"name": "s"}, "spec": dict(spec)}


def test_single_stack_takes_the_primary_family() -> None:
    alloc = ServiceAllocator(["198.18.64.0/18", "fd00:64::/112"])
    svc = _svc()
    alloc.assign(svc, None)
    assert svc["spec"] == {"type": "ClusterIP", "clusterIPs": ["198.18.64.1"], "clusterIP": "198.18.64.1",
                           "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                           "internalTrafficPolicy": "Cluster"}


def test_prefer_dual_stack_follows_requested_family_order() -> None:
    alloc = ServiceAllocator(["198.18.64.0/18", "fd00:64::/112"])
    svc = _svc(ipFamilyPolicy="PreferDualStack", ipFamilies=["IPv6"])
    alloc.assign(svc, None)
    assert svc["spec"]["ipFamilies"] == ["IPv6", "IPv4"]
    assert svc["spec"]["clusterIPs"] == ["fd00:64::1", "198.18.64.1"]


def test_require_dual_stack_fails_on_a_single_stack_cluster() -> None:
    alloc = ServiceAllocator(["198.18.64.0/18"])
    with pytest.raises(ApiError) as err:
        alloc.assign(_svc(ipFamilyPolicy="RequireDualStack"), None)
    assert err.value.code == 422 and "dual-stack" in err.value.message
    dual = _svc(ipFamilyPolicy="PreferDualStack")
    alloc.assign(dual, None)
    assert dual["spec"]["ipFamilies"] == ["IPv4"]


def test_requested_cluster_ip_must_be_free_and_in_range() -> None:
    alloc = ServiceAllocator(["198.18.64.0/18"])
    alloc.assign(_svc(clusterIP="198.18.64.10"), None)
    for wanted, why in (("198.18.64.10", "already allocated"), ("10.0.0.1", "not in the service CIDR")):
        with pytest.raises(ApiError) as err:
            alloc.assign(_svc(clusterIP=wanted), None)
        assert why in err.value.message
    headless = _svc(clusterIP="None")
    alloc.assign(headless, None)
    assert headless["spec"]["clusterIPs"] == ["None"]


def test_node_ports_are_allocated_for_node_port_services() -> None:
    alloc = ServiceAllocator(["198.18.64.0/18"])
    svc = _svc(type="NodePort", ports=[{"port": 80}])
    alloc.assign(svc, None)
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30000}]
