"""A Unix socket under a folder deeper than a socket address allows is bound and reached all the same."""

from __future__ import annotations

import socket
from pathlib import Path

from cilium_tune.lab import unixsocket


def test_a_socket_path_longer_than_an_address_is_bound_and_connected(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)
    deep.mkdir(parents=True)
    path = deep / "kubelet.sock"
    assert len(str(path)) > unixsocket.MAX_ADDRESS
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
        with unixsocket.address(path) as where:
            assert len(where) <= unixsocket.MAX_ADDRESS
            server.bind(where)
        server.listen(1)
        assert path.is_socket()
        with unixsocket.address(path) as where:
            client.connect(where)
        peer, _ = server.accept()
        with peer:
            client.sendall(b"ok")
            assert peer.recv(2) == b"ok"


def test_a_short_path_is_used_as_it_is(tmp_path: Path) -> None:
    with unixsocket.address(Path("/run/x.sock")) as where:
        assert where == "/run/x.sock"
