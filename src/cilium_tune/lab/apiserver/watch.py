"""Watch streams: newline-delimited JSON events, as client-go, kubectl and lightkube read them.

- no resourceVersion (or "0"): synthetic ADDED events for the current objects, then live events;
- resourceVersion=N: the logged events after N (410 Expired as an ERROR event when N is too old);
- sendInitialEvents=true (the watch-list protocol): the current objects, then a BOOKMARK annotated
  `k8s.io/initial-events-end`, then live events;
- allowWatchBookmarks=true: a BOOKMARK with the current resourceVersion after each quiet minute, so a
  client resuming later is less likely to get 410;
- timeoutSeconds ends the stream; so does the server stopping or the client going away.
A label/field-selected watch turns a MODIFIED that leaves (enters) the selection into DELETED (ADDED).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping

from aiohttp import web

from . import table
from .discovery import ResourceType
from .errors import bad_request, gone
from .selectors import Predicate
from .store import Event, Store, Stored, Watcher

MAX_TIMEOUT = 1800.0
BOOKMARK_EVERY = 60.0
POLL = 0.25  # how often an idle watch checks for shutdown and a vanished client
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _frame(kind: str, raw: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + raw + b"}\n"


def _bookmark(rt: ResourceType, rv: int, annotations: dict[str, str] | None = None) -> bytes:
    meta: dict[str, object] = {"resourceVersion": str(rv)}
    if annotations:
        meta["annotations"] = annotations
    return _frame("BOOKMARK", json.dumps({"kind": rt.kind, "apiVersion": rt.group_version, "metadata": meta}).encode())


def _translate(ev: Event, ns: str | None, pred: Predicate | None) -> str | None:
    """The event type this watcher should see, or None to skip it."""
    obj = ev.obj
    if ns is not None and obj["metadata"].get("namespace", "") != ns:
        return None
    if pred is None:
        return ev.type
    now_in = pred(obj)
    if ev.type != "MODIFIED":
        return ev.type if now_in else None
    was_in = ev.old is not None and pred(ev.old)
    if now_in and was_in:
        return "MODIFIED"
    if now_in:
        return "ADDED"
    return "DELETED" if was_in else None


async def serve_watch(request: web.Request, store: Store, rt: ResourceType, ns: str | None,
                      pred: Predicate | None, params: Mapping[str, str], closing: asyncio.Event,
                      as_table: bool = False) -> web.StreamResponse:
    """Stream events; with `as_table` each object is a one-row Table (columns in the first only)."""
    rv_param = params.get("resourceVersion", "")
    send_initial = params.get("sendInitialEvents") == "true"
    try:
        timeout = min(float(params.get("timeoutSeconds") or MAX_TIMEOUT), MAX_TIMEOUT)
        since = int(rv_param) if rv_param not in ("", "0") and not send_initial else None
    except ValueError as exc:
        raise bad_request(f"invalid watch parameter: {exc}") from exc
    watcher = Watcher(asyncio.get_running_loop())
    first = [True]

    def encode(kind: str, stored: Stored) -> bytes:
        if not as_table:
            return _frame(kind, stored.raw)
        meta = {"resourceVersion": stored.obj["metadata"].get("resourceVersion", "")}
        doc = table.table(rt.kind, [stored.obj], meta, with_columns=first[0])
        first[0] = False
        return _frame(kind, json.dumps(doc).encode())

    with store.lock:
        backlog = store.subscribe(rt.key, watcher, since)
        initial = [] if since is not None else [s for s in store.items(rt.key, ns)
                                                 if pred is None or pred(s.obj)]
        current_rv = store.resource_version
    resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if backlog is None:
            err = gone(f"too old resource version: {rv_param} ({current_rv})").status()
            await resp.write(_frame("ERROR", json.dumps(err).encode()))
            return resp
        chunk = [encode("ADDED", s) for s in initial]
        if send_initial:
            chunk.append(_bookmark(rt, current_rv, {INITIAL_EVENTS_END: "true"}))
        for ev in backlog:
            kind = _translate(ev, ns, pred)
            if kind:
                chunk.append(encode(kind, ev.stored))
        for i in range(0, len(chunk), 500):
            await resp.write(b"".join(chunk[i:i + 500]))
        deadline = time.monotonic() + timeout
        bookmarks = params.get("allowWatchBookmarks") == "true"
        last_sent = time.monotonic()
        while not closing.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            try:
                ev = await asyncio.wait_for(watcher.queue.get(), timeout=min(left, POLL))
            except TimeoutError:
                if bookmarks and time.monotonic() - last_sent >= BOOKMARK_EVERY:
                    await resp.write(_bookmark(rt, store.resource_version))
                    last_sent = time.monotonic()
                continue
            out = []
            while True:
                kind = _translate(ev, ns, pred)
                if kind:
                    out.append(encode(kind, ev.stored))
                if watcher.queue.empty() or len(out) >= 500:
                    break
                ev = watcher.queue.get_nowait()
            if out:
                await resp.write(b"".join(out))
                last_sent = time.monotonic()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        store.unsubscribe(rt.key, watcher)
    return resp
