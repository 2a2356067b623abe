"""The kubelet's streaming server: `exec` and `attach` into the lab's pods over WebSocket.

A real kubelet serves `/exec/<namespace>/<pod>/<uid>/<container>` on port 10250, and the API server
relays `pods/exec` there. The lab's kubelet serves the same paths on a Unix socket in the lab's state
directory (`kubelet.sock`, readable by root only), which the lab's API server relays to
(apiserver/streaming.py). The subprotocols, statuses and messages are remotecommand.py's.

- exec: the command runs in the pod's network namespace with the container's environment
  (PodRunner.exec_command); stdin, stdout and stderr are pipes, or one pseudo-terminal with
  `tty`. Resize messages are read and ignored. A client that goes away kills the command.
- attach: the container's output from now on, read from its log as the runtime writes it, until
  the container's run ends. Lab containers have no stdin to attach to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pty
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from cilium_tune.lab import remotecommand as rc
from cilium_tune.lab import unixsocket
from cilium_tune.lab.kubelet_runtime import PodRunner

log = logging.getLogger("cilium_tune.lab.kubelet")
SOCKET_NAME = "kubelet.sock"
CHUNK = 32 * 1024
FindPod = Callable[[str, str, str], PodRunner | None]


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def _refuse(status: int, message: str) -> web.Response:
    """A refused session, as the kubelet answers it (plain text), with the text in a header for the relay."""
    return web.Response(status=status, text=message, headers={rc.ERROR_HEADER: message})


class StreamServer:
    """Serves exec and attach for the pods `find` knows, in one thread with its own event loop."""

    def __init__(self, path: Path, find: FindPod) -> None:
        self.path = path
        self.find = find
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="kubelet-streams", daemon=True)

    def start(self) -> None:
        app = web.Application()
        app.router.add_get("/exec/{namespace}/{pod}/{uid}/{container}", self.exec)
        app.router.add_get("/attach/{namespace}/{pod}/{uid}/{container}", self.attach)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        self.path.unlink(missing_ok=True)
        old = os.umask(0o077)
        try:
            self._loop.run_until_complete(self._runner.setup())
            with unixsocket.address(self.path) as where:  # a deep state directory is fine too
                self._loop.run_until_complete(web.UnixSite(self._runner, where).start())
        finally:
            os.umask(old)
        self._thread.start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)

    # --- handlers -------------------------------------------------------------------------------
    def _session(self, request: web.Request) -> tuple[PodRunner, str, rc.Options] | web.Response:
        m = request.match_info
        runner = self.find(m["namespace"], m["pod"], m["uid"])
        if runner is None:
            return _refuse(404, "pod does not exist")
        try:
            opts = rc.Options.from_query(request.query, request.query.getall("command", []))
        except ValueError as exc:
            return _refuse(400, str(exc))
        if not (opts.stdin or opts.stdout or opts.stderr):
            return _refuse(400, "you must specify at least 1 of stdin, stdout, stderr")
        return runner, m["container"], opts

    async def _open(self, request: web.Request, opts: rc.Options) -> tuple[web.WebSocketResponse, rc.Codec]:
        ws = web.WebSocketResponse(protocols=rc.SUPPORTED, autoping=True)
        await ws.prepare(request)
        codec = rc.Codec(ws.ws_protocol or "")
        await _send(ws, codec.encode(opts.announce_channel, b""))
        return ws, codec

    async def exec(self, request: web.Request) -> web.StreamResponse:
        found = self._session(request)
        if isinstance(found, web.Response):
            return found
        runner, container, opts = found
        try:
            argv, env, cwd = await asyncio.to_thread(runner.exec_command, container, opts.command)
        except LookupError as exc:
            return _refuse(500, str(exc.args[0]))
        except FileNotFoundError as exc:
            argv, env, cwd = [], {}, "/"
            missing = str(exc)
        else:
            missing = ""
        ws, codec = await self._open(request, opts)
        status: dict[str, Any] | None = rc.internal_error(
            f"error executing command in container: {missing} (the lab runs the host's commands)")
        if not missing:
            status = await _run(ws, codec, opts, argv, env, cwd)
        if status is not None:
            await _finish(ws, codec, status)
        return ws

    async def attach(self, request: web.Request) -> web.StreamResponse:
        found = self._session(request)
        if isinstance(found, web.Response):
            return found
        runner, container, opts = found
        try:
            path, running = runner.attach_source(container)
        except LookupError as exc:
            return _refuse(500, str(exc.args[0]))
        ws, codec = await self._open(request, opts)
        offset = path.stat().st_size if path.exists() else 0
        reader = asyncio.create_task(_drain(ws))
        while not reader.done():
            size = path.stat().st_size if path.exists() else 0
            if size > offset:
                with path.open("rb") as f:
                    f.seek(offset)
                    data = f.read(size - offset)
                offset += len(data)
                if opts.stdout:
                    await _send(ws, codec.encode(rc.STDOUT, data))
            elif not running():
                break
            else:
                await asyncio.sleep(0.1)
        if reader.done():
            return ws
        reader.cancel()
        await _finish(ws, codec, rc.success())
        return ws


async def _send(ws: web.WebSocketResponse, frame: bytes | str) -> None:
    if isinstance(frame, str):
        await ws.send_str(frame)
    else:
        await ws.send_bytes(frame)


async def _finish(ws: web.WebSocketResponse, codec: rc.Codec, status: dict[str, Any]) -> None:
    """Write the status, then close (the close handshake waits for the client's reply)."""
    with contextlib.suppress(ConnectionError, RuntimeError):
        frame = codec.status(status)
        if frame is not None:
            await _send(ws, frame)
        await ws.close()


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read and drop what the client sends until it closes (attach has no stdin to feed)."""
    async for _ in ws:
        pass


async def _run(ws: web.WebSocketResponse, codec: rc.Codec, opts: rc.Options, argv: list[str],
               env: dict[str, str], cwd: str) -> dict[str, Any] | None:
    """Run the command, stream it, return its final status (None when the client went away first)."""
    master = slave = -1
    pipe = asyncio.subprocess.PIPE
    devnull = asyncio.subprocess.DEVNULL
    if opts.tty:
        master, slave = pty.openpty()
        io: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave}
    else:
        io = {"stdin": pipe if opts.stdin else devnull, "stdout": pipe if opts.stdout else devnull,
              "stderr": pipe if opts.stderr else devnull}
    try:
        proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd, start_new_session=True, **io)
    except OSError as exc:
        return rc.internal_error(f"error executing command in container: {exc}")
    finally:
        if slave >= 0:
            os.close(slave)
    feeder = asyncio.create_task(_feed(ws, codec, proc, master))
    loop = asyncio.get_running_loop()

    async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
        while stream is not None and (data := await stream.read(CHUNK)):
            await _send(ws, codec.encode(channel, data))

    async def pump_pty() -> None:
        while True:
            try:
                data = await loop.run_in_executor(None, os.read, master, CHUNK)
            except OSError:  # EIO: every holder of the terminal has exited
                return
            if not data:
                return
            await _send(ws, codec.encode(rc.STDOUT, data))

    output = asyncio.gather(pump_pty()) if opts.tty else \
        asyncio.gather(pump(proc.stdout, rc.STDOUT), pump(proc.stderr, rc.STDERR))
    done, _ = await asyncio.wait({feeder, output}, return_when=asyncio.FIRST_COMPLETED)
    try:
        if feeder in done and feeder.result() == "gone":  # the client left: stop the command
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            output.cancel()
            return None
        with contextlib.suppress(ConnectionError, RuntimeError):
            await output
        code = await proc.wait()
    finally:
        feeder.cancel()
        if master >= 0:
            os.close(master)
    code = 128 - code if code < 0 else code
    return rc.success() if code == 0 else rc.exit_status(code, opts.command, codec.protocol)


async def _feed(ws: web.WebSocketResponse, codec: rc.Codec, proc: asyncio.subprocess.Process, master: int) -> str:
    """Client → command: stdin data, the v5 half-close, resize (ignored). Returns "gone" when the client closes."""
    async for msg in ws:
        if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
            continue
        frame = codec.decode(msg.data)
        if frame is None:
            continue
        channel, data = frame
        if channel == rc.STDIN and data:
            if master >= 0:
                os.write(master, data)
            elif proc.stdin is not None:
                with contextlib.suppress(ConnectionError):
                    proc.stdin.write(data)
                    await proc.stdin.drain()
        elif channel == rc.CLOSE and codec.half_close and data[:1] == bytes([rc.STDIN]):
            if master >= 0:
                os.write(master, b"\x04")
            elif proc.stdin is not None:
                proc.stdin.close()
    if proc.stdin is not None:
        proc.stdin.close()
    return "gone"
