"""Start JupyterLab and a headless Chromium, drive a notebook, talk to its kernel.

Plain functions, no pytest: ``tests/e2e/conftest.py`` wraps them in fixtures and
``benchmarks/drag_latency.py`` calls them directly. The recipe is the one in the
project's TESTING notes: JupyterLab on loopback with a token and a fixed port, fresh
workspace and settings directories, the system chromium driven by Playwright for Python
(never a downloaded browser).

The page gets an init script (:data:`PAGE_HOOKS_JS`) that wraps ``WebSocket`` and records,
independently of the widget's own code, every ``render`` request the page sends and every
``frame`` event it receives from the kernel, with the CRC-32 of the frame's bytes as they
arrived off the wire.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SEMWIDGET_CHROMIUM", "/usr/bin/chromium")
# The flags that work on our machines (root, no GPU, no network beyond the registries).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Keep timers and frames at full rate: the latency figures depend on it.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
VIEWPORT = {"width": 1400, "height": 1100}


def missing_requirement() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (run: bash scripts/setup-browser.sh)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (run: bash scripts/setup-browser.sh)"
    try:
        import jupyterlab
    except ImportError:
        return "JupyterLab is not installed (run: bash scripts/setup-browser.sh)"
    if int(jupyterlab.__version__.split(".")[0]) < 4:
        return f"JupyterLab {jupyterlab.__version__} is too old (need 4)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- JupyterLab


@dataclass
class Lab:
    proc: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path
    app: str = "lab"  # "lab": JupyterLab; "notebook": Jupyter Notebook 7

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, path: str) -> str:
        if self.app == "notebook":
            return f"{self.base_url}/notebooks/{path}?token={self.token}"
        return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down) by its PID: SIGTERM, then SIGKILL."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return


def _write_settings(settings_dir: Path, settings: dict[str, dict] | None = None) -> None:
    """User settings files: ours (no news toast over the widget, no update checks), then
    ``settings`` ``{"@scope/package:plugin" or "@scope/package/plugin": {key: value}}``,
    merged over them, key by key."""
    files: dict[str, dict] = {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}
    }
    for plugin, values in (settings or {}).items():
        key = plugin.replace(":", "/").removesuffix(".jupyterlab-settings")
        files[key] = {**files.get(key, {}), **values}
    for key, values in files.items():
        path = settings_dir / f"{key}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


# jupyter_server leaves Nagle's algorithm on for the kernel WebSocket, so a kernel reply
# written right after another message (status: busy, a trait update) waits for the
# browser's delayed ACK: about 40 ms per round trip on Linux loopback. This config file
# sets TCP_NODELAY on those sockets; benchmarks/drag_latency.py measures with and without.
NODELAY_CONFIG = """\
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

_open = KernelWebsocketHandler.open


def _open_nodelay(self, *args, **kwargs):
    self.set_nodelay(True)
    return _open(self, *args, **kwargs)


KernelWebsocketHandler.open = _open_nodelay
"""


def start_lab(
    root_dir: Path,
    work_dir: Path,
    *,
    timeout: float = 90.0,
    nodelay: bool = False,
    extra_args: list[str] | tuple[str, ...] = (),
    settings: dict[str, dict] | None = None,
    app: str = "lab",
    env: dict[str, str] | None = None,
) -> Lab:
    """JupyterLab on 127.0.0.1, serving ``root_dir``; state and log under ``work_dir``.

    ``nodelay``: set TCP_NODELAY on the kernel WebSocket (see :data:`NODELAY_CONFIG`);
    off by default, as users run it.
    ``settings``: user settings ``{"@scope/package:plugin": {key: value}}`` written into its
    fresh user settings directory (see :func:`_write_settings`).
    ``app``: ``"lab"`` (JupyterLab) or ``"notebook"`` (Jupyter Notebook 7, the same server
    and options; its notebooks open at ``/notebooks/<path>``).
    ``env``: extra environment variables for the server and so its kernels (e.g. ``JUPYTER_PATH``
    for a kernelspec of the test's own).
    """
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook', not {app!r}")
    name = "JupyterLab" if app == "lab" else "Jupyter Notebook"
    work_dir.mkdir(parents=True, exist_ok=True)
    if nodelay:
        config = work_dir / "nodelay_config.py"
        config.write_text(NODELAY_CONFIG)
        extra_args = [*extra_args, f"--config={config}"]
    settings_dir = work_dir / "settings"
    workspaces = work_dir / "workspaces"
    runtime = work_dir / "runtime"
    for d in (settings_dir, workspaces, runtime):
        d.mkdir(exist_ok=True)
    _write_settings(settings_dir, settings)
    port = free_port()
    token = secrets.token_hex(16)
    server_env = dict(os.environ)
    # The kernel imports this checkout's semwidget, installed or not.
    server_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), server_env.get("PYTHONPATH", "")) if p)
    server_env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    server_env.pop("ANYWIDGET_HMR", None)  # no watchfiles in tests
    server_env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    server_env.update(env or {})
    if app == "lab":
        app_args = [
            "-m",
            "jupyterlab",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    else:  # Notebook 7 has no news or update check of its own (the settings above cover the toast)
        app_args = ["-m", "notebook", "--JupyterNotebookApp.expose_app_in_browser=True"]
    cmd = [
        sys.executable,
        *app_args,
        "--no-browser",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        "--ServerApp.terminals_enabled=False",
        f"--LabServerApp.workspaces_dir={workspaces}",
        f"--LabServerApp.user_settings_dir={settings_dir}",
        *extra_args,
    ]
    log_path = work_dir / ("jupyterlab.log" if app == "lab" else "notebook.log")
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        cmd, cwd=root_dir, env=server_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    lab = Lab(proc=proc, port=port, token=token, root_dir=root_dir, log_path=log_path, app=app)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} on start:\n{lab.log_tail()}")
        try:
            with urllib.request.urlopen(f"{lab.base_url}/api/status?token={token}", timeout=2) as r:
                if r.status == 200:
                    return lab
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            lab.stop()
            raise RuntimeError(f"{name} did not answer /api/status in {timeout:.0f} s:\n{lab.log_tail()}")
        time.sleep(0.25)


def prepare_root(dest: Path, notebooks: dict[str, dict] | None = None) -> Path:
    """A temp copy of examples/ plus generated notebooks ``{name: nbformat-v4 dict}``."""
    shutil.copytree(REPO / "examples", dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, nb in (notebooks or {}).items():
        (dest / name).write_text(json.dumps(nb, indent=1))
    return dest


def explorer_variable(notebook: Path) -> str | None:
    """The name bound to ``semwidget.Explorer(...)`` in a notebook's code cells, if any."""
    import re

    try:
        nb = json.loads(Path(notebook).read_text())
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = "".join(cell.get("source", []))
            m = re.search(r"^(\w+)\s*=\s*semwidget\.Explorer\(", src, re.M)
            if m:
                return m.group(1)
    return None


def code_notebook(*cells: str, kernel: str = "python3", display_name: str | None = None) -> dict:
    """A notebook (nbformat 4 dict) of code cells, on the kernelspec named ``kernel``."""
    if display_name is None:
        display_name = "Python 3" if kernel == "python3" else kernel
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": display_name, "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
    }


def ipykernel6_dir() -> Path:
    """Where ``scripts/setup-browser.sh`` puts ipykernel 6 (``pip install --no-deps --target``):
    ``<venv>/ipykernel6``, or $SEMWIDGET_IPYKERNEL6. Its dependencies are the venv's own."""
    return Path(os.environ.get("SEMWIDGET_IPYKERNEL6") or Path(sys.prefix) / "ipykernel6")


def missing_ipykernel6() -> str | None:
    """Why there is no ipykernel 6 to run a kernel on, or None when there is."""
    where = ipykernel6_dir()
    if not (where / "ipykernel" / "__init__.py").is_file():
        return f"no ipykernel 6 in {where} (run: bash scripts/setup-browser.sh)"
    return None


def missing_notebook7() -> str | None:
    """Why Jupyter Notebook 7 cannot be started here, or None when it can."""
    try:
        import notebook
    except ImportError:
        return "Jupyter Notebook is not installed (run: bash scripts/setup-browser.sh)"
    if int(notebook.__version__.split(".")[0]) < 7:
        return f"Jupyter Notebook {notebook.__version__} is too old (need 7)"
    return None


def write_kernelspec(
    data_dir: Path,
    name: str,
    *,
    display_name: str | None = None,
    pythonpath: list[str | Path] | tuple[str | Path, ...] = (),
    python: str = sys.executable,
) -> Path:
    """A Python kernelspec ``name`` in ``data_dir/kernels``, started with ``python`` and
    ``PYTHONPATH`` set to ``pythonpath`` (in its place, not added to the server's). Start the
    server with ``env={"JUPYTER_PATH": str(data_dir)}`` to offer it. Returns its folder."""
    spec_dir = data_dir / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name or name,
        "language": "python",
        "metadata": {"debugger": True},
    }
    if pythonpath:
        spec["env"] = {"PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


# --------------------------------------------------------------------------- browser


@dataclass
class Browser:
    playwright: Any
    context: Any
    profile: Path
    own_profile: bool = field(default=False)

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            try:
                self.playwright.stop()
            finally:
                if self.own_profile:
                    shutil.rmtree(self.profile, ignore_errors=True)


def start_browser(profile: Path | None = None, extra_args: tuple[str, ...] = ()) -> Browser:
    """Headless system Chromium in a fresh persistent profile, with the page hooks installed."""
    from playwright.sync_api import sync_playwright

    own = profile is None
    profile = Path(tempfile.mkdtemp(prefix="semwidget-chromium-")) if profile is None else profile
    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            viewport=VIEWPORT,
        )
    except Exception:
        pw.stop()
        raise
    context.add_init_script(PAGE_HOOKS_JS)
    return Browser(playwright=pw, context=context, profile=profile, own_profile=own)


# Installed in every page before JupyterLab's code runs. window.__sw records:
#   sent:   [{kind, seq, final, alphas, t}]  every request with a seq the page sent (render,
#           set_layers, undo, ...: each is answered by a frame with that seq)
#   kinds:  {kind: count} of every request sent; sentCount: `render` requests sent
#   frames: [{seq, checksum, crc, length, mime, t}]  every `frame` event received; `crc` is
#           computed here over the buffer as it came off the WebSocket
#   files:  {name, mime, t} of every download the kernel sent (PNG, GIF)
#   sentCount / frameCount: totals (the arrays keep the newest 2000)
#   pointerup: performance.now() of the newest pointerup anywhere in the page
PAGE_HOOKS_JS = r"""
(() => {
  if (window.__sw) return;
  const sw = (window.__sw = {
    sent: [], frames: [], files: [], sentCount: 0, frameCount: 0, kinds: {}, pointerup: null, errors: [],
  });
  const TABLE = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    TABLE[n] = c >>> 0;
  }
  sw.crc32 = (bytes) => {
    let c = 0xffffffff;
    for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const dec = new TextDecoder('utf8');
  // Jupyter's two kernel WebSocket framings -> {msg_type, content, buffers: [Uint8Array]}.
  function parse(data, protocol) {
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      return {msg_type: m.header && m.header.msg_type, content: m.content, buffers: []};
    }
    const buf = data instanceof ArrayBuffer
      ? data : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const view = new DataView(buf);
    if (protocol === 'v1.kernel.websocket.jupyter.org') {
      const n = Number(view.getBigUint64(0, true));
      const off = [];
      for (let i = 0; i < n; i++) off.push(Number(view.getBigUint64(8 * (i + 1), true)));
      const part = (i) => dec.decode(new Uint8Array(buf, off[i], off[i + 1] - off[i]));
      const header = JSON.parse(part(1));
      const content = JSON.parse(part(4));
      const buffers = [];
      for (let i = 5; i < off.length - 1; i++) buffers.push(new Uint8Array(buf, off[i], off[i + 1] - off[i]));
      return {msg_type: header.msg_type, content, buffers};
    }
    const nbufs = view.getUint32(0);
    const off = [];
    for (let i = 1; i <= nbufs; i++) off.push(view.getUint32(4 * i));
    const end = (i) => (i + 1 < off.length ? off[i + 1] : buf.byteLength);
    const m = JSON.parse(dec.decode(new Uint8Array(buf, off[0], end(0) - off[0])));
    const buffers = [];
    for (let i = 1; i < nbufs; i++) buffers.push(new Uint8Array(buf, off[i], end(i) - off[i]));
    return {msg_type: m.header && m.header.msg_type, content: m.content, buffers};
  }
  const custom = (m) =>
    m && m.msg_type === 'comm_msg' && m.content && m.content.data && m.content.data.method === 'custom'
      ? m.content.data.content
      : null;
  const keep = (arr, item) => { arr.push(item); if (arr.length > 2000) arr.splice(0, arr.length - 2000); };
  function onSend(data, protocol) {
    try {
      const c = custom(parse(data, protocol));
      if (!c) return;
      sw.kinds[c.kind] = (sw.kinds[c.kind] || 0) + 1;
      if (c.kind === 'render') sw.sentCount++;
      if (typeof c.seq === 'number')
        keep(sw.sent, {kind: c.kind, seq: c.seq, final: c.kind !== 'render' || !!c.final,
                       alphas: c.alphas || null, t: performance.now()});
    } catch (e) { sw.errors.push('send: ' + e); }
  }
  function onReceive(data, protocol) {
    try {
      const m = parse(data, protocol);
      const c = custom(m);
      if (c && c.kind === 'frame') {
        const b = m.buffers[0] || new Uint8Array(0);
        sw.frameCount++;
        keep(sw.frames, {seq: c.seq, checksum: c.checksum, crc: sw.crc32(b), length: b.length, mime: c.mime,
                         t: performance.now()});
      } else if (c && c.kind === 'file') {
        keep(sw.files, {name: c.name, mime: c.mime, t: performance.now()});
      }
    } catch (e) { sw.errors.push('receive: ' + e); }
  }
  const Native = window.WebSocket;
  class Hooked extends Native {
    constructor(...args) {
      super(...args);
      if (String(args[0]).includes('/api/kernels/')) {
        this.addEventListener('message', (ev) => onReceive(ev.data, this.protocol));
        this.__swKernel = true;
      }
    }
    send(data) {
      if (this.__swKernel) onSend(data, this.protocol);
      return super.send(data);
    }
  }
  window.WebSocket = Hooked;
  window.addEventListener('pointerup', () => { sw.pointerup = performance.now(); }, true);
})();
"""


# --------------------------------------------------------------------------- notebook


def open_notebook(browser: Browser, lab: Lab, path: str, *, timeout: float = 120.0):
    """A new page with ``path`` open in JupyterLab, its kernel session ready."""
    page = browser.context.new_page()
    page.set_default_timeout(timeout * 1000)
    page.goto(lab.notebook_url(path), wait_until="domcontentloaded")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=timeout * 1000,
        polling=100,
    )
    page.evaluate(
        """async () => {
            const app = window.jupyterapp;
            await app.restored;
            const nb = app.shell.currentWidget;
            await nb.context.ready;
            await nb.sessionContext.ready;
            window.__swNotebook = nb;
            for (let i = 0; i < 600 && !(nb.sessionContext.session && nb.sessionContext.session.kernel); i++)
              await new Promise((r) => setTimeout(r, 100));
        }"""
    )
    return page


def run_all_cells(page) -> None:
    page.evaluate(
        """async () => {
            window.jupyterapp.shell.activateById(window.__swNotebook.id);
            await window.jupyterapp.commands.execute('notebook:run-all-cells');
        }"""
    )


WIDGET = '[data-testid="semwidget"]'


def wait_for_widget(page, *, timeout: float = 120.0):
    """Wait for the widget's root with a first frame on screen; returns its locator."""
    try:
        page.wait_for_function(
            f"""() => {{
                const r = document.querySelector('{WIDGET}');
                return r && Number(r.getAttribute('data-render-seq') || 0) > 0;
            }}""",
            timeout=timeout * 1000,
            polling=100,
        )
    except Exception as e:
        raise AssertionError(
            f"the widget did not show a frame in {timeout:.0f} s; notebook errors:\n{notebook_errors(page)}"
        ) from e
    root = page.locator(WIDGET).first
    root.scroll_into_view_if_needed()
    return root


def notebook_errors(page) -> str:
    """Error outputs (tracebacks, without colour codes) shown in the notebook, for failure messages."""
    try:
        return page.evaluate(
            """() => [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map((e) => e.innerText).join('\\n').slice(-4000)"""
        )
    except Exception as e:  # the page itself may be gone
        return f"(could not read the notebook: {e})"


def kernel_exec(page, code: str, *, timeout: float = 60.0) -> str:
    """Run ``code`` in the notebook's kernel; returns its stdout. Raises on a Python error."""
    result = page.evaluate(
        """async ([code, timeoutMs]) => {
            const nb = window.__swNotebook || window.jupyterapp.shell.currentWidget;
            const kernel = nb.sessionContext.session.kernel;
            const future = kernel.requestExecute({code, silent: false, store_history: false, stop_on_error: false});
            let out = '', err = null;
            future.onIOPub = (msg) => {
                const t = msg.header.msg_type;
                if (t === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
                else if (t === 'error')
                    err = msg.content.ename + ': ' + msg.content.evalue + '\\n' + msg.content.traceback.join('\\n');
            };
            const timer = new Promise(
                (_, reject) => setTimeout(() => reject(new Error('kernel_exec timed out')), timeoutMs));
            await Promise.race([future.done, timer]);
            return {out, err};
        }""",
        [code, int(timeout * 1000)],
    )
    if result["err"]:
        import re

        raise RuntimeError("kernel raised: " + re.sub(r"\x1b\[[0-9;]*m", "", result["err"]))
    return result["out"]


def kernel_json(page, expr: str, *, setup: str = "", timeout: float = 60.0) -> Any:
    """The value of the Python expression ``expr`` in the kernel, through JSON."""
    marker = "__SW_JSON__"
    code = f"{setup}\nimport json as _sw_json\nprint({marker!r} + _sw_json.dumps({expr}))"
    out = kernel_exec(page, code, timeout=timeout)
    for line in reversed(out.splitlines()):
        if line.startswith(marker):
            return json.loads(line[len(marker) :])
    raise RuntimeError(f"no JSON line in the kernel's output: {out[-500:]!r}")


# --------------------------------------------------------------------------- widget helpers


def render_seq(page) -> int:
    return page.evaluate(f"() => Number(document.querySelector('{WIDGET}').getAttribute('data-render-seq') || 0)")


def hooks(page) -> dict:
    """What the WebSocket hooks recorded: counts, the newest sent request and received frame."""
    return page.evaluate(
        """() => { const s = window.__sw; return {
            sentCount: s.sentCount, frameCount: s.frameCount, kinds: s.kinds, errors: s.errors.slice(-5),
            lastSent: s.sent[s.sent.length - 1] || null, lastFrame: s.frames[s.frames.length - 1] || null}; }"""
    )


def wait_for_sent_seq(page, *, timeout: float = 30.0) -> int:
    """Wait until the frame on screen is the newest render the page asked for; returns its seq."""
    wait_until(
        page,
        f"""() => {{
            const s = window.__sw, r = document.querySelector('{WIDGET}');
            const last = s.sent[s.sent.length - 1];
            return r && last && Number(r.getAttribute('data-render-seq') || 0) >= last.seq;
        }}""",
        "the frame on screen to be the newest one asked for",
        timeout=timeout,
    )
    return render_seq(page)


def wait_until(page, predicate_js: str, what: str, *, timeout: float = 30.0) -> None:
    """``wait_for_function`` polled every animation frame; on timeout, an AssertionError
    that says what the page sent and received and what error the widget shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # A new error in the widget's banner ends the wait at once: no frame is coming.
    banner = f"""() => {{
        const e = document.querySelector('{WIDGET} [data-testid="error"]');
        return e && !e.hidden ? e.innerText : '';
    }}"""
    before = page.evaluate(banner)
    try:
        page.wait_for_function(
            f"""([before]) => ({predicate_js})() || (({banner})() || before) !== before""",
            arg=[before],
            timeout=timeout * 1000,
            polling="raf",
        )
    except PlaywrightTimeout:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}:\n{diagnosis(page)}") from None
    if not page.evaluate(predicate_js):
        raise AssertionError(f"the widget showed an error while waiting for {what}:\n{diagnosis(page)}")


def diagnosis(page) -> str:
    try:
        info = page.evaluate(
            f"""() => {{
                const s = window.__sw, r = document.querySelector('{WIDGET}');
                const err = document.querySelector('{WIDGET} [data-testid="error"]');
                return {{renderSeq: r && r.getAttribute('data-render-seq'),
                         sentSeq: r && r.getAttribute('data-sent-seq'),
                         widgetError: err && !err.hidden ? err.innerText : null, kinds: s.kinds,
                         lastSent: s.sent.slice(-3), lastFrames: s.frames.slice(-3), hookErrors: s.errors.slice(-3)}};
            }}"""
        )
    except Exception as e:  # noqa: BLE001
        return f"(page unreadable: {e})"
    return "\n".join(f"  {k}: {v}" for k, v in info.items())


def centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} has no box (not visible?)"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, locator, dx: float, dy: float = 0.0, *, steps: int = 6) -> None:
    """A real mouse drag: move to the centre of ``locator``, press, move by (dx, dy), release."""
    locator.scroll_into_view_if_needed()
    x, y = centre(locator)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=steps)
    page.mouse.up()


# Pixels of the grid's canvases, kept in the page: snapshot(page, "a"), then
# pixel_change(page, "a", "b") is the mean absolute difference per cell (0..255).
def snapshot(page, name: str) -> int:
    return page.evaluate(
        """(name) => {
            const cells = [...document.querySelector('[data-testid="semwidget"]')
                .querySelectorAll('[data-testid="grid"] canvas[data-testid^="cell-"]')];
            window.__swSnaps = window.__swSnaps || {};
            window.__swSnaps[name] = cells.map((c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
            return cells.length;
        }""",
        name,
    )


def pixel_change(page, a: str, b: str) -> list[float]:
    return page.evaluate(
        """([a, b]) => {
            const A = window.__swSnaps[a], B = window.__swSnaps[b];
            return A.map((x, i) => {
                const y = B[i];
                if (!y || y.length !== x.length) return Infinity;
                let s = 0;
                for (let k = 0; k < x.length; k++) s += Math.abs(x[k] - y[k]);
                return s / x.length;
            });
        }""",
        [a, b],
    )


def pixel_spread(page, name: str) -> list[float]:
    """Standard deviation of each cell's RGB values: near 0 for a blank canvas."""
    return page.evaluate(
        """(name) => window.__swSnaps[name].map((d) => {
            let s = 0, q = 0, n = 0;
            for (let k = 0; k < d.length; k++) { if (k % 4 === 3) continue; s += d[k]; q += d[k] * d[k]; n++; }
            return Math.sqrt(Math.max(0, q / n - (s / n) ** 2));
        })""",
        name,
    )


def shot(page, shots_dir: Path, name: str) -> None:
    """A screenshot of the (first) widget, as shots_dir/name.png."""
    root = page.locator(WIDGET).first
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(shots_dir / f"{name}.png"))
