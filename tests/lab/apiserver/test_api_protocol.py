"""The HTTP protocol details real clients depend on, checked on the wire."""

from __future__ import annotations

import time

import pytest
from apiserver_testkit import Kube, http, watch_lines

from cilium_tune.lab.apiserver import watch

CM = "/api/v1/namespaces/default/configmaps"


def _cm(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}, "data": {"k": name}}


def test_discovery_answers_with_and_without_trailing_slash(kube: Kube) -> None:
    for path in ("/version", "/version/", "/api", "/api/", "/apis", "/apis/"):
        assert http(kube.url + path)[0] == 200, path
    core = http(f"{kube.url}/api/v1/")[1]
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert core["groupVersion"] == "v1" and pods["kind"] == "Pod" and pods["namespaced"] is True
    assert "watch" in pods["verbs"]
    assert {r["name"] for r in core["resources"]} >= {"pods/log", "pods/eviction", "pods/status", "nodes"}
    groups = {g["name"] for g in http(f"{kube.url}/apis")[1]["groups"]}
    assert {"apps", "discovery.k8s.io", "policy", "apiextensions.k8s.io"} <= groups
    assert http(f"{kube.url}/apis/nope.example.com/v1")[0] == 404


def test_openapi_v3_declares_patch_with_field_validation(kube: Kube) -> None:
    index = http(f"{kube.url}/openapi/v3")[1]["paths"]
    doc = http(kube.url + index["apis/apps/v1"]["serverRelativeURL"])[1]
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


def test_writes_stamp_uid_resource_version_generation_and_timestamps(kube: Kube) -> None:
    code, created = http(kube.url + CM, "POST", _cm("a"))
    meta = created["metadata"]
    assert code == 201 and meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["generation"] == 1
    code, updated = http(f"{kube.url}{CM}/a", "PUT", {**created, "data": {"k": "changed"}})
    assert code == 200 and int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert updated["metadata"]["generation"] == 2 and updated["metadata"]["uid"] == meta["uid"]
    code, status = http(f"{kube.url}{CM}/a", "PUT", created)
    assert code == 409 and status["reason"] == "Conflict"


def test_status_subresource_leaves_spec_alone_and_keeps_generation(kube: Kube) -> None:
    dep = {"metadata": {"name": "d"}, "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}},
                                                 "template": {"metadata": {"labels": {"a": "b"}}, "spec": {
                                                     "containers": [{"name": "c", "image": "busybox"}]}}}}
    url = f"{kube.url}/apis/apps/v1/namespaces/default/deployments/d"
    http(f"{kube.url}/apis/apps/v1/namespaces/default/deployments", "POST", dep)
    code, got = http(f"{url}/status", "PATCH", {"spec": {"replicas": 5}, "status": {"observedGeneration": 7}},
                     ctype="application/merge-patch+json")
    assert code == 200 and got["spec"]["replicas"] == 0 and got["status"]["observedGeneration"] == 7
    assert got["metadata"]["generation"] == 1
    code, got = http(url, "PATCH", {"spec": {"replicas": 0, "paused": True}}, ctype="application/merge-patch+json")
    assert got["metadata"]["generation"] == 2


def test_list_pagination_with_limit_and_continue(kube: Kube) -> None:
    for i in range(5):
        http(kube.url + CM, "POST", _cm(f"cm{i}"))
    names, token, pages = [], "", 0
    while True:
        page = http(f"{kube.url}{CM}?limit=2" + (f"&continue={token}" if token else ""))[1]
        assert page["kind"] == "ConfigMapList" and page["apiVersion"] == "v1"
        names += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"cm{i}" for i in range(5)] and pages == 3


def test_watch_resumes_from_resource_version_and_honours_timeout(kube: Kube) -> None:
    rv = http(kube.url + CM)[1]["metadata"]["resourceVersion"]
    http(kube.url + CM, "POST", _cm("one", w="yes"))
    http(kube.url + CM, "POST", _cm("two"))
    http(f"{kube.url}{CM}/one", "DELETE")
    started = time.monotonic()
    events = watch_lines(f"{kube.url}{CM}?watch=true&resourceVersion={rv}&timeoutSeconds=1&labelSelector=w%3Dyes")
    assert 0.9 < time.monotonic() - started < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "one"), ("DELETED", "one")]


def test_watch_list_ends_initial_events_with_a_bookmark(kube: Kube) -> None:
    http(kube.url + CM, "POST", _cm("x"))
    events = watch_lines(f"{kube.url}{CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                         "&allowWatchBookmarks=true&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[1]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["resourceVersion"]) >= int(events[0]["object"]["metadata"]["resourceVersion"])


def test_watch_from_a_compacted_version_reports_410(kube: Kube) -> None:
    store = kube.server.store
    store._log_floor["/configmaps"] = store.resource_version + 10  # as if the log had been trimmed
    events = watch_lines(f"{kube.url}{CM}?watch=true&resourceVersion=1")
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410


def test_dry_run_changes_nothing(kube: Kube) -> None:
    code, obj = http(f"{kube.url}{CM}?dryRun=All", "POST", _cm("dry"))
    assert code == 201 and obj["metadata"]["name"] == "dry"
    assert http(f"{kube.url}{CM}/dry")[0] == 404


def test_errors_carry_status_objects(kube: Kube) -> None:
    code, body = http(f"{kube.url}{CM}/missing")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    code, body = http(kube.url + CM, "POST", {"metadata": {"name": "UPPER"}})
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    code, body = http(kube.url + CM, "POST", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    assert (code, body["reason"]) == (400, "BadRequest")
    code, body = http(f"{kube.url}{CM}/x", "PATCH", [{"op": "add"}], ctype="application/json-patch+json")
    assert code == 404


def test_quiet_watch_sends_bookmarks_when_allowed(kube: Kube, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "BOOKMARK_EVERY", 0.3)
    rv = http(kube.url + CM)[1]["metadata"]["resourceVersion"]
    events = watch_lines(f"{kube.url}{CM}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2")
    assert events and {e["type"] for e in events} == {"BOOKMARK"}
    assert events[0]["object"]["metadata"]["resourceVersion"] == rv
