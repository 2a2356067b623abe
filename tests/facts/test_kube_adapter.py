"""The live KubeAPI: kubeconfig rules as kubectl has them, pagination, error mapping, no leaked secrets."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from cilium_tune.adapters.kube import NODES, PODS, Forbidden, LightkubeAPI, NotFound, NotServed, Resource
from cilium_tune.errors import ClusterError, InputError

TOKEN = "s3cr3t-token-never-printed"


def _kubeconfig(path: Path, server: str, context: str = "lab", token: str = TOKEN) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [{"name": context, "cluster": {"server": server}}],
                "users": [{"name": context, "user": {"token": token}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            }
        )
    )
    return path


def _api_handler(requests: list[httpx2.Request]) -> Any:
    """Serves /version, nodes in pages of 2 (honouring limit/continue), a 403, and the API's 404s."""
    nodes = [{"metadata": {"name": f"n{i}"}} for i in range(5)]

    def handle(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        path = request.url.path
        if path == "/version":
            return httpx2.Response(200, json={"gitVersion": "v1.33.1+k3s1"})
        if path == "/api/v1/nodes":
            limit = int(request.url.params["limit"])
            start = int(request.url.params.get("continue") or 0)
            page = nodes[start : start + limit]
            more = start + limit < len(nodes)
            meta = {"resourceVersion": "7", **({"continue": str(start + limit)} if more else {})}
            return httpx2.Response(200, json={"kind": "NodeList", "metadata": meta, "items": page})
        if path == "/api/v1/pods":
            return httpx2.Response(403, json={"kind": "Status", "message": 'pods is forbidden: User "x"'})
        if path == "/api/v1/nodes/ghost":
            return httpx2.Response(404, json={"kind": "Status", "message": 'nodes "ghost" not found'})
        return httpx2.Response(
            404, json={"kind": "Status", "message": "the server could not find the requested resource"}
        )

    return handle


def _api(tmp_path: Path, requests: list[httpx2.Request]) -> LightkubeAPI:
    config = _kubeconfig(tmp_path / "config", "http://127.0.0.1:1")
    return LightkubeAPI(str(config), transport=httpx2.MockTransport(_api_handler(requests)))


def test_list_follows_continue_tokens_and_sends_the_credentials(tmp_path: Path) -> None:
    requests: list[httpx2.Request] = []
    api = _api(tmp_path, requests)
    names = [n["metadata"]["name"] for n in api.list(NODES, page_size=2)]
    assert names == ["n0", "n1", "n2", "n3", "n4"]
    pages = [r for r in requests if r.url.path == "/api/v1/nodes"]
    assert [r.url.params.get("continue") for r in pages] == [None, "2", "4"]
    assert pages[0].headers["authorization"] == f"Bearer {TOKEN}"
    info = api.server_info()
    assert (info.context, info.server, info.version) == ("lab", "http://127.0.0.1:1", "v1.33.1+k3s1")


def test_http_errors_map_to_forbidden_not_served_and_not_found(tmp_path: Path) -> None:
    api = _api(tmp_path, [])
    with pytest.raises(Forbidden, match="pods is forbidden"):
        api.list(PODS)
    with pytest.raises(NotServed):
        api.list(Resource("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance", True))
    with pytest.raises(NotFound, match="ghost"):
        api.get(NODES, "ghost")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_server_is_a_cluster_error_without_credentials(tmp_path: Path) -> None:
    server = f"http://127.0.0.1:{_closed_port()}"
    api = LightkubeAPI(str(_kubeconfig(tmp_path / "config", server)), timeout=2)
    with pytest.raises(ClusterError) as err:
        api.server_info()
    assert server in err.value.message and TOKEN not in err.value.message + (err.value.hint or "")


def test_unknown_context_lists_the_available_ones(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path / "config", "http://127.0.0.1:1")
    with pytest.raises(InputError, match="prod") as err:
        LightkubeAPI(str(config), context="prod")
    assert "lab" in (err.value.hint or "") and TOKEN not in str(err.value)


def test_kubeconfig_env_list_is_merged_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _kubeconfig(tmp_path / "a", "http://127.0.0.1:1", context="lab")
    second = _kubeconfig(tmp_path / "b", "http://127.0.0.1:2", context="other")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    api = LightkubeAPI(context="other", transport=httpx2.MockTransport(_api_handler([])))
    assert api.server_info().server == "http://127.0.0.1:2"
    assert LightkubeAPI(transport=httpx2.MockTransport(_api_handler([]))).server_info().context == "lab"


def test_missing_kubeconfig_points_to_the_offline_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    with pytest.raises(InputError, match="no kubeconfig found") as err:
        LightkubeAPI()
    assert "--facts" in (err.value.hint or "")
    with pytest.raises(InputError, match="not found"):
        LightkubeAPI(kubeconfig=str(tmp_path / "given"))


@pytest.mark.parametrize(
    "text",
    [
        "clusters: [\n  - name: x\n   bad indent",
        "- just\n- a list\n",
        "clusters:\n- name: lab\n  cluster: {server: 7}\n",
    ],
)
def test_malformed_kubeconfig_is_an_input_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config"
    path.write_text(text + f"\n# token: {TOKEN}\n")
    with pytest.raises(InputError, match="kubeconfig") as err:
        LightkubeAPI(str(path))
    assert TOKEN not in str(err.value)
