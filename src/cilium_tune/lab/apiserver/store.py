"""In-memory object storage with one lock, a global resourceVersion and per-resource event streams.

Objects are plain JSON-shaped dicts. A stored dict is never mutated after commit (writers build a new
dict), so readers may share it without copying, and its JSON encoding is computed once and reused by
lists and watches: that is what makes a 10,000-pod list cheap. Every commit appends an event to the
resource's bounded log (watch resume from a resourceVersion) and pushes it to the live watchers and to
the in-server listeners (controllers), all while the lock is held so no watcher can miss an event.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_tune.files import write_atomic

LOG_SIZE = 50_000
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Stored:
    """One committed object version and its cached JSON encoding."""

    obj: dict[str, Any]
    _raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = dumps(self.obj)
        return self._raw


@dataclass(slots=True)
class Event:
    """A committed change: ADDED, MODIFIED or DELETED, at resourceVersion `rv`."""

    type: str
    resource: str
    stored: Stored
    rv: int
    old: dict[str, Any] | None = None

    @property
    def obj(self) -> dict[str, Any]:
        return self.stored.obj


@dataclass(eq=False)
class Watcher:
    """A live watch: events are handed to its asyncio queue from whichever thread commits."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)

    def push(self, event: Event) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


class Store:
    """All objects of the emulated cluster; see the module docstring for the sharing rules."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._rv = 0
        self._objects: dict[str, dict[Key, Stored]] = defaultdict(dict)
        self._log: dict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=LOG_SIZE))
        self._log_floor: dict[str, int] = defaultdict(int)
        self._watchers: dict[str, set[Watcher]] = defaultdict(set)
        self._listeners: list[Callable[[Event], None]] = []
        self._dependents: dict[str, set[tuple[str, str, str]]] = defaultdict(set)

    @property
    def resource_version(self) -> int:
        return self._rv

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def get(self, resource: str, ns: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            s = self._objects[resource].get((ns, name))
            return s.obj if s else None

    def items(self, resource: str, ns: str | None = None) -> list[Stored]:
        """Stored objects of a resource (one namespace, or all when ns is None), sorted by key."""
        with self.lock:
            objs = self._objects[resource]
            keys = sorted(k for k in objs if ns is None or k[0] == ns)
            return [objs[k] for k in keys]

    def objects(self, resource: str, ns: str | None = None) -> list[dict[str, Any]]:
        return [s.obj for s in self.items(resource, ns)]

    def resources(self) -> list[str]:
        with self.lock:
            return [r for r, objs in self._objects.items() if objs]

    def dependents(self, uid: str) -> list[tuple[str, str, str]]:
        """(resource, namespace, name) of objects naming `uid` in their ownerReferences."""
        with self.lock:
            return sorted(self._dependents.get(uid, ()))

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Commit a new or changed object; stamps and returns it with the next resourceVersion."""
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            old = self._objects[resource].get(key)
            self._rv += 1
            meta["resourceVersion"] = str(self._rv)
            stored = Stored(obj)
            self._objects[resource][key] = stored
            self._index_owners(resource, key, old.obj if old else None, obj)
            self._emit(Event("MODIFIED" if old else "ADDED", resource, stored, self._rv,
                             old.obj if old else None))
            return obj

    def remove(self, resource: str, ns: str, name: str) -> dict[str, Any] | None:
        """Drop an object; the DELETED event carries its last state at a new resourceVersion."""
        with self.lock:
            old = self._objects[resource].pop((ns, name), None)
            if old is None:
                return None
            self._rv += 1
            obj = {**old.obj, "metadata": {**old.obj["metadata"], "resourceVersion": str(self._rv)}}
            self._index_owners(resource, (ns, name), old.obj, None)
            self._emit(Event("DELETED", resource, Stored(obj), self._rv, old.obj))
            return obj

    def _index_owners(self, resource: str, key: Key, old: dict[str, Any] | None,
                      new: dict[str, Any] | None) -> None:
        entry = (resource, key[0], key[1])
        for obj, add in ((old, False), (new, True)):
            for ref in (obj or {}).get("metadata", {}).get("ownerReferences") or []:
                uid = ref.get("uid", "")
                if add:
                    self._dependents[uid].add(entry)
                else:
                    self._dependents[uid].discard(entry)
                    if not self._dependents[uid]:
                        del self._dependents[uid]

    def _emit(self, event: Event) -> None:
        log = self._log[event.resource]
        if len(log) == log.maxlen:
            self._log_floor[event.resource] = log[0].rv
        log.append(event)
        for w in self._watchers[event.resource]:
            w.push(event)
        for fn in self._listeners:
            fn(event)

    def subscribe(self, resource: str, watcher: Watcher, since: int | None) -> list[Event] | None:
        """Register a watcher; with `since`, also return the logged events after it (None: too old)."""
        with self.lock:
            self._watchers[resource].add(watcher)
            if since is None:
                return []
            if since < self._log_floor[resource]:
                self._watchers[resource].discard(watcher)
                return None
            return [e for e in self._log[resource] if e.rv > since]

    def unsubscribe(self, resource: str, watcher: Watcher) -> None:
        with self.lock:
            self._watchers[resource].discard(watcher)

    # --- snapshot -------------------------------------------------------------------------------------

    def dump(self, path: Path) -> None:
        """Write every object atomically as JSON (field managers are in the objects' managedFields)."""
        with self.lock:
            doc = {"resourceVersion": self._rv,
                   "objects": {r: [s.obj for s in objs.values()] for r, objs in self._objects.items() if objs}}
            data = dumps(doc)
        write_atomic(path, data)

    def load(self, doc: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
        """Restore a snapshot written by `dump` (no events are emitted); yields what was loaded."""
        with self.lock:
            self._rv = int(doc.get("resourceVersion", 0))
            loaded = []
            for resource, objs in doc.get("objects", {}).items():
                for obj in objs:
                    meta = obj["metadata"]
                    key = (meta.get("namespace", ""), meta["name"])
                    self._objects[resource][key] = Stored(obj)
                    self._index_owners(resource, key, None, obj)
                    loaded.append((resource, obj))
            for resource in list(self._objects):
                self._log_floor[resource] = self._rv
            return loaded
