"""The kernel and the front end speak the same protocol."""

import re
from pathlib import Path

import pytest

from semwidget.widget._explorer import Explorer
from semwidget.widget._protocol import EVENTS, REQUESTS, TRAITS, ProtocolError, parse_request

JS = (Path(__file__).resolve().parents[2] / "js" / "messages.js").read_text()


def test_the_front_end_reads_the_same_schema_file():
    # One source: js/messages.js bundles _schema.json; nothing lists kinds by hand.
    assert 'import schema from "../semwidget/widget/_schema.json"' in JS
    assert not re.search(r'"(render|frame|alphas)"', JS)


def test_every_trait_is_synced_and_every_request_handled(tiny_dcgan):
    synced = set(Explorer.class_own_traits(sync=True))
    assert set(TRAITS) == {name for name in synced if not name.startswith("_")}
    ex = Explorer(tiny_dcgan, n_samples=2)
    try:
        assert sorted(ex._handlers) == sorted(REQUESTS)  # one explicit table, one entry per kind
    finally:
        ex.close()
    assert set(EVENTS) == {"ack", "frame", "error", "file", "code", "original"}


@pytest.mark.parametrize(
    "content,match",
    [
        ("render", "an object with a 'kind'"),
        ({"kind": "explode"}, "unknown request kind 'explode'"),
        ({"kind": "render", "seq": 1, "final": True}, "lacks the field 'alphas'"),
        ({"kind": "render", "seq": "1", "alphas": [], "final": True}, "'seq' must be an integer"),
        (
            {"kind": "render", "seq": 1, "alphas": [1, "x"], "final": True},
            "'alphas' must be a list of at most 256 finite numbers",
        ),
        ({"kind": "render", "seq": 1, "alphas": [], "final": 1}, "'final' must be true or false"),
        (
            {"kind": "set_layers", "seq": 1, "direction": True, "layers": []},
            "'direction' must be an integer in \\[0, 255\\]",
        ),
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
