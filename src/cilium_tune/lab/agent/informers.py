"""The agent's copy of the cluster, kept current by watches instead of re-reading it (client-go's informer).

Each watched resource is listed once and then watched from the list's resourceVersion; every event
updates an in-memory copy and calls `changed(name)`. The datapath is computed from these copies, so
an idle cluster costs the agent an open connection per resource and nothing else, however many
Services exist (re-listing everything each second cost both lab agents a quarter of a core with
5,000 Services: docs/bench.md, "Churn in the whole lab").

A watch that breaks is answered the way client-go's reflector answers it: list again (after a backoff),
replacing the copy, and watch from the new list. That covers the API server restarting, a reset connection and
410 Expired (the resourceVersion fell out of the server's event log: events were missed, so resuming
is impossible, and a watch "from now" would never report the objects deleted meanwhile). Every
RESYNC_SECONDS each resource is listed again anyway, the safety net for a watch that hangs without an
error; a relist that finds the copy current calls nobody. A resource whose type is not served yet
(a CRD the operator registers later: 404) reads as empty and is listed again every MISSING_RETRY_SECONDS.

All watches are tasks of one asyncio loop in one daemon thread (lightkube's AsyncClient), because an
async watch can be cancelled, which closes its stream: that is how the periodic relist ends a watch.
The rest of the agent stays synchronous and reads the copies through `items()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient, KubeConfig
from lightkube.core import decoders
from lightkube.core.exceptions import ApiError

RESYNC_SECONDS = 60.0
MISSING_RETRY_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 0.4
MAX_BACKOFF_SECONDS = 5.0
"""After a failed list or watch the next list waits 0.4, 0.8, 1.6, 3.2, then 5 s (client-go's reflector
backs off up to 30 s; the lab's API server restarts in seconds)."""
TIMEOUT_SECONDS = 10.0
"""Of each list request (a watch stream has no read timeout: it is quiet while nothing changes)."""

Key = tuple[str, str]  # (namespace, name); "" for cluster-scoped objects
Say = Callable[..., None]  # the agent's Log: (level, msg, **fields)


@dataclass(frozen=True)
class Watched:
    """One resource to keep a copy of: its type (or types, tried in order until one is served) and scope."""

    name: str
    types: tuple[Any, ...]
    namespace: str | None = None  # "*" for every namespace; None for cluster-scoped resources
    fields: Mapping[str, str] | None = None


def _selector(w: Watched) -> dict[str, Any] | None:
    return dict(w.fields) if w.fields else None


def _key(obj: Any) -> Key:
    meta = obj.metadata
    return (meta.namespace or "", meta.name or "") if meta else ("", "")


def _version(obj: Any) -> str:
    return (obj.metadata.resourceVersion or "") if obj.metadata else ""


class Informer:
    """The copy of one watched resource. Written by the watch thread, read by the agent's thread."""

    def __init__(self, watched: Watched) -> None:
        self.watched = watched
        self.synced = threading.Event()
        self._lock = threading.Lock()
        self._objects: dict[Key, Any] = {}

    def items(self) -> list[Any]:
        """The objects, sorted by (namespace, name) as the API server lists them."""
        with self._lock:
            return [self._objects[k] for k in sorted(self._objects)]

    def replace(self, objects: Sequence[Any]) -> bool:
        """Take a full list's objects; True when that changed the copy."""
        fresh = {_key(obj): obj for obj in objects}
        with self._lock:
            same = fresh.keys() == self._objects.keys() and all(
                _version(obj) == _version(self._objects[k]) for k, obj in fresh.items())
            self._objects = fresh
        self.synced.set()
        return not same

    def apply(self, kind: str, obj: Any) -> bool:
        """Take one watch event; True when it changed the copy (BOOKMARK and unknown types do not)."""
        with self._lock:
            if kind in ("ADDED", "MODIFIED"):
                self._objects[_key(obj)] = obj
                return True
            if kind == "DELETED":
                return self._objects.pop(_key(obj), None) is not None
        return False


def warm_up(types: Sequence[Any]) -> None:
    """Build lightkube's decoders for `types` on this thread before the watch thread uses them: two threads
    building the same decoder at once crashed the interpreter (see the kubelet's `warm_up_models`)."""
    decoders.decode_watch_event(b'{"type": "ADDED", "object": {}}')
    decoders.decode_status(b"{}")
    for res in types:
        decoders.decode_list(b'{"items": []}', res)
        with contextlib.suppress(ValueError):  # a type with required fields refuses {}, its decoder is built
            decoders.decode_object(b"{}", res)


class Informers:
    """Every watched resource's copy, kept by one daemon thread; `changed(name)` is called from that thread."""

    def __init__(self, config: KubeConfig, watched: Sequence[Watched], changed: Callable[[str], None],
                 log: Say) -> None:
        self.config = config
        self.by_name = {w.name: Informer(w) for w in watched}
        self.changed = changed
        self.log = log
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def __getitem__(self, name: str) -> Informer:
        return self.by_name[name]

    def start(self) -> None:
        warm_up([t for inf in self.by_name.values() for t in inf.watched.types])
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name="informers", daemon=True)
        self._thread.start()
        ready.wait()

    def wait_synced(self, timeout: float) -> bool:
        """True once every resource has been listed once (its copy is then usable)."""
        return all(inf.synced.wait(timeout) for inf in self.by_name.values())

    def stop(self, timeout: float = 5.0) -> None:
        """End the watches (their streams are closed) and the thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self, ready: threading.Event) -> None:
        asyncio.run(self._run_all(ready))

    async def _run_all(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        ready.set()
        async with AsyncClient(self.config, timeout=TIMEOUT_SECONDS) as client:  # type: ignore[arg-type]
            tasks = [asyncio.create_task(self._keep(inf, client), name=name) for name, inf in self.by_name.items()]
            await self._stopping.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, inf: Informer, client: AsyncClient) -> None:
        """List, then watch until the resync time or an error; over again, forever.

        A failed list or watch waits before the next list, with one exponential backoff for both (up to
        MAX_BACKOFF_SECONDS): a watch the server refuses at once (403, an ERROR event) would otherwise make
        a list and a watch request per round trip. The backoff ends with a watch that delivered an event
        or lasted until the resync; the first failure is logged, and then the recovery. 410 Expired is
        no failure: the list is simply too old, and a new one is taken at once."""
        failures = 0
        w = inf.watched
        while True:
            try:
                listed = await self._list(inf, client)
                if listed is None:  # not served (yet)
                    if inf.replace([]):
                        self.changed(w.name)
                    await asyncio.sleep(MISSING_RETRY_SECONDS)
                    continue
                res, version = listed
                async with asyncio.timeout(RESYNC_SECONDS * random.uniform(0.9, 1.1)):
                    async for kind, obj in client.watch(res, namespace=w.namespace, fields=_selector(w),
                                                        resource_version=version,
                                                        server_timeout=int(RESYNC_SECONDS * 2)):
                        if failures:
                            self.log("info", "watching works again", resource=w.name)
                            failures = 0
                        if inf.apply(kind, obj):
                            self.changed(w.name)
            except TimeoutError:  # the periodic relist
                if failures:
                    self.log("info", "watching works again", resource=w.name)
                    failures = 0
            except ApiError as exc:
                if exc.status.code == 410:
                    self.log("info", "watch expired (410); listing again", resource=w.name)
                    continue
                failures = await self._back_off(w, failures, exc)
            except Exception as exc:  # the API server is away or the stream broke: keep the copy meanwhile
                failures = await self._back_off(w, failures, exc)

    async def _back_off(self, w: Watched, failures: int, exc: Exception) -> int:
        """Sleep before the next list after failure number `failures + 1`; say so on the first."""
        if not failures:
            self.log("warning", "listing or watching failed; keeping the last copy and retrying with backoff",
                     resource=w.name, error=str(exc))
        await asyncio.sleep(min(FIRST_BACKOFF_SECONDS * 2 ** failures, MAX_BACKOFF_SECONDS))
        return failures + 1

    async def _list(self, inf: Informer, client: AsyncClient) -> tuple[Any, str] | None:
        """Replace the copy with a fresh list; (the type served, the list's resourceVersion), or None when
        no type of the resource is served."""
        w = inf.watched
        for res in w.types:
            listing = client.list(res, namespace=w.namespace, fields=_selector(w))
            try:
                objects = [obj async for obj in listing]
            except ApiError as exc:
                if exc.status.code == 404:
                    continue
                raise
            if inf.replace(objects):
                self.changed(w.name)
            return res, listing.resourceVersion
        return None
