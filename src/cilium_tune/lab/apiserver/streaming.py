"""`pods/exec` and `pods/attach`: checked here as the API server checks them, then relayed to the kubelet.

kube-apiserver validates the request (container, node, options), then either translates a v5
WebSocket itself or proxies the upgrade to the kubelet of the pod's node. The lab does the same
with its kubelet's Unix socket (kubelet_exec.py): it accepts the client's WebSocket with the
subprotocol a cluster would pick (remotecommand.negotiate), opens one to the kubelet with the same
subprotocol, and relays messages both ways until either side closes. A kubelet that refuses the
session is answered as the cluster would: for v5, an InternalError status on the error channel
(the translator's way); for the older protocols, the kubelet's own HTTP error, passed through.

Only WebSocket is served: kubectl 1.30+ and the client libraries use it; SPDY (kubectl's fallback
for old servers) is answered with 400.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import WSMsgType, web

from cilium_tune.lab import remotecommand as rc
from cilium_tune.lab import unixsocket

from . import errors

KUBELET_SOCKET = "kubelet.sock"


def _container(pod: dict[str, Any], name: str, requested: str) -> str:
    """The container a request means, or the API server's 400 (its messages, word for word)."""
    spec = pod.get("spec") or {}
    mains = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    if requested:
        if requested not in mains + inits:
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(mains) == 1:
        return str(mains[0])
    message = f"a container name must be specified for pod {name}"
    if mains:
        message += f", choose one of: [{' '.join(mains)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
    raise errors.bad_request(message)


async def serve(request: web.Request, pod: dict[str, Any], sub: str, state_dir: Path | None) -> web.StreamResponse:
    """Answer one `pods/exec` or `pods/attach` request."""
    name, ns, uid = pod["metadata"]["name"], pod["metadata"]["namespace"], pod["metadata"]["uid"]
    q = request.query
    container = _container(pod, name, q.get("container", ""))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    try:
        opts = rc.Options.from_query(q, q.getall("command", []))
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    if sub == "exec" and not opts.command:
        raise errors.bad_request("you must specify at least 1 command")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.bad_request(f"Upgrade request required: the lab serves {sub} over WebSocket "
                                 f"({', '.join(rc.SUPPORTED)}), not SPDY")
    offered = rc.offered_protocols(request.headers.get("Sec-WebSocket-Protocol", ""))
    protocol = rc.negotiate(offered)
    if protocol is None:
        return web.Response(status=403, text=f"requested protocol(s) are not supported: {offered}; "
                                             f"supports {list(rc.SUPPORTED)}")
    path = "/".join(quote(p, safe="") for p in (sub, ns, name, uid, container))
    url = f"http://kubelet/{path}?{urlencode(opts.kubelet_query())}"
    socket = (state_dir or Path("/nonexistent")) / KUBELET_SOCKET
    with unixsocket.address(socket) as where:
        return await _stream(request, client_protocol=protocol, opts=opts, url=url, where=where)


async def _stream(request: web.Request, *, client_protocol: str | None, opts: rc.Options, url: str,
                  where: str) -> web.StreamResponse:
    """Relay one session to the kubelet's socket at address `where`."""
    protocol = client_protocol
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=where)) as session:
        client = web.WebSocketResponse(protocols=[protocol] if protocol else ())
        if protocol == rc.V5:  # the translator: the client's WebSocket (announced) first, then the kubelet's
            codec = rc.Codec(protocol)
            await client.prepare(request)
            await _send(client, codec.encode(opts.announce_channel, b""))
            try:
                kubelet = await session.ws_connect(url, protocols=[protocol])
                await kubelet.receive(timeout=10)  # the kubelet's own announcement: the client has had one
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                frame = codec.status(rc.internal_error(f"unable to upgrade connection: {_why(exc)}"))
                assert frame is not None  # v5 reports every status
                await _send(client, frame)
                await client.close()
                return client
        else:  # the upgrade-aware proxy: the kubelet's answer decides
            try:
                kubelet = await session.ws_connect(url, protocols=[protocol] if protocol else ())
            except aiohttp.WSServerHandshakeError as exc:
                return web.Response(status=exc.status, text=_why(exc))
            except (aiohttp.ClientError, OSError) as exc:
                raise errors.ApiError(500, "InternalError", f"error dialing backend: {_why(exc)}") from None
            await client.prepare(request)
        await _relay(client, kubelet)
    return client


def _why(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.WSServerHandshakeError) and exc.headers and rc.ERROR_HEADER in exc.headers:
        return exc.headers[rc.ERROR_HEADER]
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"the lab kubelet is not listening ({exc.os_error})"
    return str(exc)


async def _send(ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse, frame: bytes | str) -> None:
    if isinstance(frame, str):
        await ws.send_str(frame)
    else:
        await ws.send_bytes(frame)


async def _relay(client: web.WebSocketResponse, kubelet: aiohttp.ClientWebSocketResponse) -> None:
    """Copy messages both ways; when one side closes, close the other."""

    async def copy(src: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                   dst: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
        async for msg in src:
            if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await _send(dst, msg.data)

    down = asyncio.create_task(copy(kubelet, client))
    up = asyncio.create_task(copy(client, kubelet))
    try:
        done, _ = await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
        other, ws = (up, client) if down in done else (down, kubelet)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
        await asyncio.wait_for(other, timeout=10)
    except TimeoutError:
        pass
    finally:
        for task in (down, up):
            task.cancel()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await kubelet.close()
