"""What a user sees in TensorBoard for a finished sweep, rendered by a real browser (headless Chromium,
loopback only): the HParams table and the Scalars tab, read from the live page through the DevTools protocol.

`chromium --dump-dom` is not enough: TensorBoard's HParams and Scalars tabs are Polymer components whose
content lives in shadow roots, which a DOM dump leaves out; the protocol lets the page's own script read them.
"""

import base64
import itertools
import json
import os
import shutil
import subprocess
import time

import pytest

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install "
                                                          "chromium): this check needs a real browser")]

# Every element matching a selector, in document order, shadow roots included.
DEEP = """const deep = (root, sel, out = []) => { out.push(...root.querySelectorAll(sel));
  for (const el of root.querySelectorAll('*')) if (el.shadowRoot) deep(el.shadowRoot, sel, out); return out; };"""
HPARAMS_CELLS = (f"(() => {{ {DEEP} return deep(document, 'vaadin-grid-cell-content')"
                 ".map(e => e.textContent.trim()); })()")
# The Scalars tab's sections in the order shown (its cards render only when scrolled to), with their tags; the
# unnamed one holds the tag filter's matches.
SCALAR_SECTIONS = (f"(() => {{ {DEEP} return deep(document, 'tf-category-paginated-view').filter(v => v.category)"
                   ".map(v => [v.category.name, v.category.items.map(i => i.tag)]).filter(([name]) => name); })()")


class Browser:
    """Headless Chromium driven over `--remote-debugging-pipe` (JSON messages ending in NUL on fds 3 and 4)."""

    def __init__(self, profile_dir, log):
        self.log = log
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # bash (dash takes one-digit fds only) puts the two pipe ends where Chromium expects them, fds 3 and 4.
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}', CHROMIUM, "--headless",
             "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--window-size=1400,900",
             f"--user-data-dir={profile_dir}", "about:blank"],
            pass_fds=(to_browser, from_browser), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        os.close(to_browser)
        os.close(from_browser)
        self._ids = itertools.count(1)
        self._buffer = b""

    def call(self, method: str, session: str | None = None, **params) -> dict:
        msg_id = next(self._ids)
        message = {"id": msg_id, "method": method, "params": params} | ({"sessionId": session} if session else {})
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._read, 1 << 16)
                assert chunk, f"chromium closed the DevTools pipe: {self.log.read_text()[-2000:]}"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == msg_id:
                assert "error" not in reply, reply["error"]
                return reply["result"]

    def open(self, url: str) -> str:
        target = self.call("Target.createTarget", url=url)["targetId"]
        return self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def wait_for(self, session: str, expression: str, done, timeout: float = 30):
        """The value of `expression` in the page once `done(value)` holds (the app renders asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)["result"]["value"]
            if done(value) or time.monotonic() > deadline:
                return value
            time.sleep(0.5)

    def screenshot(self, session: str, path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", session)["data"]))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        os.close(self._write)
        os.close(self._read)


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile", tmp_path / "chromium.log")
    yield b
    b.close()


def test_hparams_table_shows_short_trial_ids_the_swept_column_and_best_validation(sweep, browser, tmp_path):
    base, metrics, _ = sweep
    page = browser.open(f"{base}/#hparams")
    cells = browser.wait_for(page, HPARAMS_CELLS, lambda cells: set(metrics) <= set(cells))
    browser.screenshot(page, tmp_path / "hparams.png")  # for a person reading a failure
    header = list(itertools.takewhile(bool, cells))
    assert header[:2] == ["Trial ID", "Show Metrics"], cells[:20]
    # Trial IDs are the overrides the sweep varies, not every constant override typed with them.
    assert sorted(c for c in cells if c in metrics) == sorted(metrics) == ["0_model.pooling=max",
                                                                           "1_model.pooling=avg", "mlp/tb/mlp"]
    # The swept column among the settings, then the metrics, the best-checkpoint validation accuracy first.
    best = header.index("val/acc_best")
    assert header.index("model/pooling") < best and header[best:best + 2] == ["val/acc_best", "test/acc"], header
    assert "inv/shift_consistency" in header  # ticked: pooling against consistency takes no clicks but the view
    for run in metrics:  # each row shows that run's value from metrics.json (5 significant digits)
        row = cells[cells.index(run):cells.index(run) + len(header)]
        assert float(row[best]) == pytest.approx(metrics[run]["val/acc_best"], rel=1e-4), row


def test_scalars_tab_has_no_epoch_chart(sweep, browser, tmp_path):
    """Lightning's `epoch` (the x-axis itself) was the first chart anyone saw."""
    base, _, _ = sweep
    page = browser.open(f"{base}/#scalars")
    sections = dict(browser.wait_for(page, SCALAR_SECTIONS, lambda sections: "val" in dict(sections)))
    browser.screenshot(page, tmp_path / "scalars.png")
    assert {"train/loss", "val/acc"} <= {tag for tags in sections.values() for tag in tags}, sections
    assert "epoch" not in sections and "epoch" not in {tag for tags in sections.values() for tag in tags}
