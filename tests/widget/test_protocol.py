"""The kernel and the front end speak the same protocol."""

import re
from pathlib import Path

import pytest

from semwidget.widget._explorer import Explorer
from semwidget.widget._protocol import EVENTS, REQUESTS, TRAITS, ProtocolError, parse_request

JS = (Path(__file__).resolve().parents[2] / "js" / "messages.js").read_text()


def _js_list(name: str) -> list[str]:
    body = re.search(rf"export const {name} = \[(.*?)\];", JS, re.S)
    assert body, f"js/messages.js has no {name}"
    return re.findall(r'"([a-z_]+)"', body.group(1))


def test_js_and_python_list_the_same_kinds_and_traits():
    assert _js_list("REQUESTS") == list(REQUESTS)
    assert _js_list("EVENTS") == list(EVENTS)
    assert _js_list("TRAITS") == list(TRAITS)


def test_every_trait_is_synced_and_every_request_handled():
    synced = set(Explorer.class_own_traits(sync=True))
    assert set(TRAITS) <= synced
    for kind in REQUESTS:
        assert callable(getattr(Explorer, f"_on_{kind}", None)), kind


@pytest.mark.parametrize(
    "content,match",
    [
        ("render", "an object with a 'kind'"),
        ({"kind": "explode"}, "unknown request kind 'explode'"),
        ({"kind": "render", "seq": 1, "final": True}, "lacks the field 'alphas'"),
        ({"kind": "render", "seq": "1", "alphas": [], "final": True}, "'seq' must be int"),
        ({"kind": "render", "seq": 1, "alphas": [1, "x"], "final": True}, "'alphas' must be floats"),
        ({"kind": "render", "seq": 1, "alphas": [], "final": 1}, "'final' must be bool"),
        ({"kind": "set_layers", "seq": 1, "direction": True, "layers": []}, "'direction' must be int"),
    ],
)
def test_malformed_requests_are_refused(content, match):
    with pytest.raises(ProtocolError, match=match):
        parse_request(content)


def test_optional_fields_may_be_null_or_absent():
    assert parse_request({"kind": "new_seeds", "seq": 3})[1] == {"seq": 3, "seed": None}
    assert (
        parse_request({"kind": "compute", "method": "sefa", "n_directions": 2, "feature_layer": None})[0] == "compute"
    )
