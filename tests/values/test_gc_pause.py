"""Loading and merging pause the cyclic garbage collector (half of a large load's time) and always give it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cilium_tune.errors import InputError
from cilium_tune.values import load_values_text, merge_values


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_while_a_file_is_composed_and_on_again_after(collector_on: None,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from cilium_tune.values import loader

    seen: list[bool] = []
    compose = loader._compose_documents

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return compose(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "_compose_documents", spy)
    layer = load_values_text("a: {b: 1}\n", "values.yaml")
    assert seen == [False]
    assert gc.isenabled()
    assert merge_values([layer, layer]).values == {"a": {"b": 1}}
    assert gc.isenabled()


def test_a_refused_file_gives_the_collector_back(collector_on: None) -> None:
    with pytest.raises(InputError):
        load_values_text("a: [1, 2\n", "broken.yaml")
    assert gc.isenabled()


def test_a_caller_that_switched_the_collector_off_keeps_it_off(collector_on: None) -> None:
    gc.disable()
    load_values_text("a: 1\n", "values.yaml")
    assert not gc.isenabled()
    gc.enable()
