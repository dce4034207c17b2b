"""A hypothesis state machine drives the Explorer through its comm, as a page does, with
valid and invalid actions in random order, and checks after each one:

- what is on screen (the newest frame sent) is exactly the current session rendered
  from scratch through the public API;
- an action followed by undo gives back the session it started from;
- no exception escapes the widget (each shows as its error), and the worker is alive.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as some
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from semwidget import Explorer
from tests.widget.factors import planted
from tests.widget.page import Escaped, expected_frame, frames, request, write_traits

N_SAMPLES = 4
STEPS: Counter[str] = Counter()  # actions taken, by kind: the run did explore


class ExplorerMachine(RuleBasedStateMachine):
    generator = None  # set by the test (the tiny DCGAN)

    @initialize()
    def open_widget(self):
        self.escaped = Escaped().__enter__()
        g = self.generator
        # Continuous factors for the content gestures (planted: the plumbing is under test, not a fit).
        factors = [planted(g, "shift_x", 0), planted(g, "shift_y", 1), planted(g, "zoom", 2), planted(g, "rotation", 3)]
        self.ex = Explorer(g, n_samples=N_SAMPLES, seed=3, factors=factors)
        assert self.ex.wait_idle(30)
        self.ex.sent = []
        self.ex.send = lambda content, buffers=None: self.ex.sent.append((content, buffers or []))
        self.seq = 0
        self.expect_error = False

    def teardown(self):
        if hasattr(self, "ex"):
            self.ex.close()
            self.escaped.__exit__()

    # ---- helpers ------------------------------------------------------------------------

    def _next_seq(self):
        self.seq += 1
        return self.seq

    def _k(self):
        return len(self.ex.state.alphas)

    def _send(self, content, *, undoable=False, before=None):
        before = self.ex.state if before is None else before
        STEPS[content["kind"]] += 1
        self.ex.error = ""
        request(self.ex, content)
        assert self.ex.wait_idle(60)
        if undoable and not self.ex.error and self.ex.state != before:
            # undo ∘ do = identity, on whole sessions
            after = self.ex.state
            request(self.ex, {"kind": "undo", "seq": self._next_seq()})
            assert self.ex.wait_idle(60)
            assert self.ex.state == before, "undo did not restore the session"
            request(self.ex, {"kind": "redo", "seq": self._next_seq()})
            assert self.ex.wait_idle(60)
            assert self.ex.state == after, "redo did not bring the change back"

    # ---- valid actions -----------------------------------------------------------------

    @rule(data=some.data(), moves=some.integers(0, 3))
    def drag(self, data, moves):
        k = self._k()
        extents = self.ex.state.extents
        i = data.draw(some.integers(0, k - 1))
        ids = list(self.ex.state.ids)
        at_rest = self.ex.state
        for _ in range(moves):  # moves while dragging: JPEG previews, not undoable
            a = data.draw(some.floats(-extents[i], extents[i]))
            alphas = [a if j == i else x for j, x in enumerate(self.ex.state.alphas)]
            request(self.ex, {"kind": "render", "seq": self._next_seq(), "alphas": alphas, "ids": ids, "final": False})
        a = data.draw(some.floats(-extents[i], extents[i]))
        alphas = [a if j == i else x for j, x in enumerate(self.ex.state.alphas)]
        final = {"kind": "render", "seq": self._next_seq(), "alphas": alphas, "ids": ids, "final": True}
        self._send(final, undoable=True, before=at_rest)  # undo after a drag: back to before it began

    def _gesture(self, data, kind, moves, amount):
        # A drag, Shift+drag or wheel inside a cell: increments while it moves, then the release.
        cell = data.draw(some.integers(0, N_SAMPLES - 1))
        scope = data.draw(some.sampled_from(["all", "cell"]))

        def step(final):
            return {"kind": kind, "seq": self._next_seq(), "cell": cell, "scope": scope, "final": final, **amount()}

        at_rest = self.ex.state
        for _ in range(moves):
            request(self.ex, step(False))
        self._send(step(True), undoable=True, before=at_rest)  # undo: back to before the gesture

    @rule(data=some.data(), moves=some.integers(0, 3))
    def drag_content(self, data, moves):
        shift = some.floats(-0.3, 0.3)
        self._gesture(data, "shift_content", moves, lambda: {"dx": data.draw(shift), "dy": data.draw(shift)})

    @rule(data=some.data(), moves=some.integers(0, 3))
    def turn_content(self, data, moves):
        self._gesture(data, "turn_content", moves, lambda: {"degrees": data.draw(some.floats(-40, 40))})

    @rule(data=some.data(), moves=some.integers(0, 3))
    def zoom_content(self, data, moves):
        self._gesture(data, "zoom_content", moves, lambda: {"ratio": data.draw(some.floats(0.7, 1.4))})

    @rule(data=some.data())
    def drag_with_stale_ids(self, data):
        # The page's directions as they were some actions ago: only known ids act.
        ids = data.draw(some.lists(some.integers(0, 3000), max_size=6))
        alphas = data.draw(some.lists(some.floats(-1, 1), min_size=len(ids), max_size=len(ids)))
        self._send(
            {"kind": "render", "seq": self._next_seq(), "alphas": alphas, "ids": ids, "final": True}, undoable=True
        )

    @rule(data=some.data())
    def set_active(self, data):
        active = data.draw(some.lists(some.integers(0, self._k() - 1), max_size=4, unique=True))
        self._send({"kind": "set_active", "seq": self._next_seq(), "active": active}, undoable=True)

    @rule(data=some.data())
    def set_layers(self, data):
        s = self.ex.state
        i = data.draw(some.integers(0, self._k() - 1))
        ok = [j for j in range(len(s.columns)) if s.applicable(i, j)]
        layers = data.draw(some.lists(some.sampled_from(ok), max_size=len(ok), unique=True)) if ok else []
        self._send({"kind": "set_layers", "seq": self._next_seq(), "direction": i, "layers": layers}, undoable=True)

    @precondition(lambda self: len(self.ex.state.alphas) >= 2)
    @rule(data=some.data())
    def set_pad(self, data):
        pair = data.draw(some.lists(some.integers(0, self._k() - 1), min_size=2, max_size=2, unique=True))
        self._send({"kind": "set_pad", "pair": pair}, undoable=True)

    @rule(seed=some.none() | some.integers(0, 2**32 - 1))
    def new_seeds(self, seed):
        self._send({"kind": "new_seeds", "seq": self._next_seq(), "seed": seed}, undoable=True)

    @rule()
    def undo(self):
        self._send({"kind": "undo", "seq": self._next_seq()})

    @rule()
    def redo(self):
        self._send({"kind": "redo", "seq": self._next_seq()})

    @rule()
    def reset(self):
        self._send({"kind": "reset", "seq": self._next_seq()}, undoable=True)

    @precondition(lambda self: len(self.ex.state.alphas) < 12)
    @rule(n=some.integers(1, 3), channels=some.booleans())
    def compute(self, n, channels):
        layer = "main.5" if channels else None
        self._send({"kind": "compute", "method": "sefa", "n_directions": n, "feature_layer": layer}, undoable=True)

    @rule(name=some.sampled_from(["smile", "age", "  glasses "]))
    def set_attribute(self, name):
        self._send({"kind": "set_attribute", "name": name}, undoable=True)

    @rule(cell=some.integers(0, N_SAMPLES - 1), value=some.sampled_from([1, -1, 0]))
    def label(self, cell, value):
        self._send({"kind": "label", "cell": cell, "value": value, "seed": None}, undoable=True)

    @rule(data=some.data(), text=some.text(max_size=20))
    def rename_or_note(self, data, text):
        i = data.draw(some.integers(0, self._k() - 1))
        kind, field = data.draw(some.sampled_from([("rename", "label"), ("note", "text")]))
        self._send({"kind": kind, "direction": i, field: text}, undoable=True)

    @rule(columns=some.integers(1, 8))
    def write_columns(self, columns):
        write_traits(self.ex, {"columns": columns})
        assert self.ex.wait_idle(60)
        assert self.ex.columns == columns

    # ---- invalid actions ---------------------------------------------------------------

    @rule(
        content=some.sampled_from(
            [
                {"kind": "render", "seq": 1, "alphas": [1e9], "final": True},
                {"kind": "render", "seq": 1, "alphas": [0.0] * 300, "final": True},
                {"kind": "set_layers", "seq": 1, "direction": 255, "layers": [0]},
                {"kind": "set_active", "seq": 1, "active": [200]},
                {"kind": "compute", "method": "sefa", "n_directions": 0, "feature_layer": None},
                {"kind": "compute", "method": "sefa", "n_directions": 2, "feature_layer": "nowhere"},
                {"kind": "rename", "direction": 0, "label": "\ud800"},
                {"kind": "label", "cell": 99, "value": 1, "seed": None},
                {"kind": "shift_content", "seq": 1, "cell": 0, "dx": 9.0, "dy": 0, "scope": "all", "final": True},
                {"kind": "zoom_content", "seq": 1, "cell": 0, "ratio": 0.0, "scope": "cell", "final": True},
                {"kind": "turn_content", "seq": 1, "cell": 0, "degrees": 5.0, "scope": "page", "final": True},
                {"kind": "shift_content", "seq": 1, "cell": 70, "dx": 0.1, "dy": 0, "scope": "cell", "final": True},
                {"kind": "save", "path": "../out"},
                {"kind": "explode"},
                "not even an object",
            ]
        )
    )
    def invalid_request(self, content):
        before = self.ex.state
        STEPS["invalid request"] += 1
        self.ex.error = ""
        request(self.ex, content)
        assert self.ex.wait_idle(60)
        assert self.ex.error, f"no error shown for {content!r:.80}"
        assert self.ex.state == before

    @rule(state=some.sampled_from([{"columns": 0}, {"resolution": 100_000}, {"alphas": [1.0]}, {"seed": 7}, []]))
    def invalid_trait_write(self, state):
        before = (self.ex.state, self.ex.columns, self.ex.resolution)
        self.ex.error = ""
        write_traits(self.ex, state)
        assert self.ex.error
        assert (self.ex.state, self.ex.columns, self.ex.resolution) == before

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def screen_is_the_session_rendered(self):
        if not hasattr(self, "ex"):
            return
        assert self.ex.wait_idle(60)
        shown = frames(self.ex)
        if not shown:
            return
        meta, (data,) = max(shown, key=lambda f: f[0]["seq"])
        if (meta["columns"], meta["cell"]) != (self.ex.columns, self.ex.resolution):
            return  # a columns change re-renders: that frame is the newest
        assert data == expected_frame(self.ex, final=meta["mime"] == "image/png"), "screen != render(state)"
        assert meta["seed"] == self.ex.state.seed

    @invariant()
    def nothing_escapes_and_the_worker_lives(self):
        if not hasattr(self, "ex"):
            return
        assert self.ex.worker_alive
        assert not self.escaped.records, [r.getMessage() for r in self.escaped.records]
        self.ex.state.check()
        assert self.ex.alphas == list(self.ex.state.alphas) and self.ex.seed == self.ex.state.seed


def test_random_sessions_through_the_comm(tiny_dcgan):
    ExplorerMachine.generator = tiny_dcgan
    runner = ExplorerMachine.TestCase
    runner.settings = settings(
        max_examples=40,
        stateful_step_count=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    STEPS.clear()
    runner().runTest()
    assert sum(STEPS.values()) >= 400 and len(STEPS) >= 14, STEPS
    assert all(STEPS[k] >= 5 for k in ("shift_content", "turn_content", "zoom_content")), STEPS
