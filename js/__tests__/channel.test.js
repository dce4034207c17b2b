// The channel: requests numbered and acknowledged, silence noticed and shown,
// a stranded comm repaired and what it lost sent again.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACK_TIMEOUT_MS, createChannel } from "../channel.js";
import { checkSubshell } from "../subshell.js";
import { MockModel, mount, tick } from "./harness.js";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function channelOn(model, check = async () => "ok") {
  const statuses = [];
  let clock = 0;
  const channel = createChannel(model, { check, now: () => clock, onStatus: (s) => statuses.push(s) });
  return { channel, statuses, advance: (ms) => { clock += ms; vi.advanceTimersByTime(ms); } };
}

describe("channel", () => {
  it("numbers every request and forgets it once acknowledged", () => {
    const model = new MockModel();
    const { channel, statuses } = channelOn(model);
    channel.model.send({ kind: "undo", seq: 1 });
    channel.model.send({ kind: "redo", seq: 2 });
    expect(model.sent).toEqual([{ kind: "undo", seq: 1 }, { kind: "redo", seq: 2 }]);
    expect(model.rids).toEqual([1, 2]);
    expect(channel.status).toMatchObject({ state: "waiting", unanswered: 2 });
    channel.onAck(2); // acks come in order: 1 was heard too
    expect(channel.status).toMatchObject({ state: "ok", unanswered: 0 });
    expect(statuses.at(-1).state).toBe("ok");
  });

  it("notices a request unanswered past the timeout, and recovers on the next ack", async () => {
    const model = new MockModel();
    const check = vi.fn(async () => "ok");
    const { channel, advance } = channelOn(model, check);
    channel.model.send({ kind: "export_png" });
    advance(ACK_TIMEOUT_MS - 600);
    expect(channel.status.state).toBe("waiting");
    advance(1000);
    expect(channel.status).toMatchObject({ state: "unanswered", unanswered: 1, repairs: 0 });
    await vi.waitFor(() => expect(check).toHaveBeenCalled());
    expect(model.sent).toHaveLength(1); // a live route: nothing is sent twice
    channel.onAck(model.rids[0]);
    expect(channel.status.state).toBe("ok");
  });

  it("sends again, in order, what a stranded comm lost once it is rerouted", async () => {
    const model = new MockModel();
    const { channel } = channelOn(model, async () => "rerouted");
    channel.model.send({ kind: "render", seq: 1, alphas: [1], final: true });
    channel.model.send({ kind: "label", cell: 0, value: 1, seed: 0 });
    await channel.check();
    expect(model.sent.map((m) => m.kind)).toEqual(["render", "label", "render", "label"]);
    expect(model.rids).toEqual([1, 2, 3, 4]);
    expect(channel.status).toMatchObject({ repairs: 1, unanswered: 2 });
    channel.onAck(4);
    expect(channel.status).toMatchObject({ state: "ok", unanswered: 0 });
  });

  it("a failing check is survived: nothing resent, the watchdog keeps watching", async () => {
    const model = new MockModel();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { channel, advance } = channelOn(model, async () => { throw new Error("no kernel"); });
    channel.model.send({ kind: "copy_code" });
    await expect(channel.check()).resolves.toBe("unknown");
    advance(ACK_TIMEOUT_MS + 500);
    expect(channel.status.state).toBe("unanswered");
    expect(model.sent).toHaveLength(1);
    warn.mockRestore();
  });
});

/** A stand-in for @jupyterlab/services' CommHandler and its kernel connection. */
function fakeComm({ subshellId = "s1", live = ["s1"], supports = true, rejoinTo = "s2" } = {}) {
  const kernel = {
    supportsSubshells: supports,
    status: "idle",
    live: [...live],
    requestListSubshell: vi.fn(() => ({ done: Promise.resolve({ content: { subshell_id: [...kernel.live] } }) })),
  };
  const comm = {
    _kernel: kernel,
    _subshellId: subshellId,
    get subshellId() { return this._subshellId; },
    subshellStarted: Promise.resolve(),
    _maybeStartSubshell: vi.fn(async function () { comm._subshellId = rejoinTo; }),
  };
  return comm;
}

describe("checkSubshell", () => {
  const model = new MockModel();
  it("leaves a comm on a live subshell alone", async () => {
    const comm = fakeComm();
    await expect(checkSubshell(model, comm)).resolves.toBe("ok");
    expect(comm._maybeStartSubshell).not.toHaveBeenCalled();
  });

  it("moves a comm off a deleted subshell onto the live one of its target", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const comm = fakeComm({ subshellId: "dead", live: ["s2"] });
    await expect(checkSubshell(model, comm)).resolves.toBe("rerouted");
    expect(comm._maybeStartSubshell).toHaveBeenCalledOnce();
    expect(comm.subshellId).toBe("s2");
    warn.mockRestore();
  });

  it("falls back to the main shell when the rejoined subshell is dead too", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const comm = fakeComm({ subshellId: "dead", live: [], rejoinTo: "dead-again" });
    await expect(checkSubshell(model, comm)).resolves.toBe("rerouted");
    expect(comm.subshellId).toBe(null);
    warn.mockRestore();
  });

  it("changes nothing where there are no subshells or no comm to reach", async () => {
    const comm = fakeComm({ supports: false, subshellId: null });
    await expect(checkSubshell(model, comm)).resolves.toBe("none");
    await expect(checkSubshell(model, fakeComm({ subshellId: null }))).resolves.toBe("none");
    await expect(checkSubshell(model, null)).resolves.toBe("unknown"); // the mock has no widget_manager
  });
});

describe("the widget", () => {
  it("shows that the kernel is not answering, and hides it once it answers", async () => {
    const { model, root, $ } = mount();
    expect($("kernel-status").hidden).toBe(true);
    expect(model.rids.length).toBeGreaterThan(0); // the first render request
    await vi.advanceTimersByTimeAsync(ACK_TIMEOUT_MS + 1000);
    expect(root.getAttribute("data-channel")).toBe("unanswered");
    expect($("kernel-status").hidden).toBe(false);
    expect($("kernel-status-message").textContent).toMatch(/not answering.*busy running a cell.*restart the kernel.*1 request waiting/s);
    model.ackAll();
    await tick;
    expect($("kernel-status").hidden).toBe(true);
    expect(root.getAttribute("data-channel")).toBe("ok");
  });
});

describe("channel checks", () => {
  it("looks at the route once per timeout period while the kernel stays silent", async () => {
    const model = new MockModel();
    const check = vi.fn(async () => "ok");
    const { channel, advance } = channelOn(model, check);
    channel.model.send({ kind: "copy_code" });
    for (let i = 0; i < 20; i++) {
      advance(500);
      await Promise.resolve();
    }
    // 10 s of silence: checks at ~3 s, ~6 s and ~9 s, not one per 500 ms tick.
    expect(check.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(check.mock.calls.length).toBeLessThanOrEqual(4);
  });
});
