"""Property: however k3s spells a flag (`--f v` or `--f=v`, booleans anywhere), every value is recovered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cilium_tune.facts.k3s import parse_k3s_args

VALUE_FLAGS = ["cluster-cidr", "service-cidr", "node-ip", "disable", "flannel-backend", "node-label", "tls-san"]
values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789./:,=", min_size=1, max_size=20)
entries = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(VALUE_FLAGS), values, st.booleans()),
        st.just(("disable-kube-proxy", None, False)),
    ),
    max_size=12,
)


@settings(max_examples=60)
@given(role=st.sampled_from(["server", "agent"]), items=entries)
def test_every_flag_value_survives_either_spelling(role: str, items: list[tuple[str, str | None, bool]]) -> None:
    argv = [role]
    for flag, value, joined in items:
        if value is None:
            argv.append(f"--{flag}")
        elif joined:
            argv.append(f"--{flag}={value}")
        else:
            argv += [f"--{flag}", value]

    parsed = parse_k3s_args(argv)

    assert parsed.role == role
    for flag in VALUE_FLAGS:
        assert parsed.flags.get(flag, ()) == tuple(v for f, v, _ in items if f == flag)
    assert parsed.disable_kube_proxy == any(f == "disable-kube-proxy" for f, _, _ in items)
