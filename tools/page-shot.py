#!/usr/bin/env python3
"""Screenshots a page in headless Chromium through the DevTools protocol, then checks
that the capture is not blank. Standard library only.

    tools/page-shot.py capture BROWSER URL OUT_PNG WIDTH HEIGHT TIMEOUT
    tools/page-shot.py check PNG
    tools/page-shot.py eval BROWSER URL EXPRESSION TIMEOUT

`capture` opens URL (a fragment included) in a WIDTH x HEIGHT viewport, waits for the
load event and two animation frames (so the page's script has opened and scrolled to
what the fragment names), and writes what the viewport shows. Chromium's own
`--screenshot` flag paints nothing once the page has scrolled, so a fragment below the
first screen came out as a blank image; asking the page for a screenshot over the
DevTools pipe captures what is on screen after the scroll. Chromium runs in its own
process group with a throwaway profile; on a timeout, an error or SIGTERM the whole
group is killed.

`eval` opens URL the same way, evaluates the JavaScript EXPRESSION in the page (a
promise is awaited) and prints its value as JSON: how tests click and read a page.

`check` (and `capture` once written) decodes the PNG (8-bit greyscale, RGB or RGBA,
not interlaced; zlib only) and fails when every pixel has one colour: a blank capture.

Exit status: 0 with the PNG written and not blank; 1 when the browser fails, times out
or the capture is blank; 2 on a usage error.
"""

import base64
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib


class Failed(Exception):
    """The browser failed, timed out, or the capture is blank."""


# ---- PNG: is every pixel one colour? ----


def png_pixels_rows(data):
    """Yields (bytes per pixel, row) for each row of an 8-bit, non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Failed("not a PNG file")
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise Failed("PNG without a header")
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise Failed(
            f"cannot check this PNG (bit depth {depth}, colour type {colour}, "
            f"interlace {interlace}); expected 8-bit, non-interlaced"
        )
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    if len(raw) < height * (stride + 1):
        raise Failed("truncated PNG data")
    prior = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        prior = unfilter(kind, row, prior, channels)
        yield channels, prior


def unfilter(kind, row, prior, bpp):
    """Reverses one row's PNG filter (None, Sub, Up, Average, Paeth)."""
    if kind == 0:
        return row
    if kind == 2:
        if not any(row):
            return bytearray(prior)
        return bytearray((a + b) & 0xFF for a, b in zip(row, prior))
    if kind == 1 and not any(row[bpp:]):
        # A Sub row that repeats its first pixel: the common case of a plain row.
        return row[:bpp] * (len(row) // bpp)
    out = bytearray(len(row))
    for i, x in enumerate(row):
        left = out[i - bpp] if i >= bpp else 0
        up = prior[i]
        if kind == 1:
            out[i] = (x + left) & 0xFF
        elif kind == 3:
            out[i] = (x + ((left + up) >> 1)) & 0xFF
        elif kind == 4:
            corner = prior[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            out[i] = (x + pred) & 0xFF
        else:
            raise Failed(f"unknown PNG filter {kind}")
    return out


def single_colour(data):
    """The one colour of a blank PNG as hex, or None when it has two or more."""
    first = None
    for bpp, row in png_pixels_rows(data):
        if first is None:
            first = bytes(row[:bpp])
        if row != first * (len(row) // bpp):
            return None
    return first.hex() if first is not None else ""


def check(path):
    with open(path, "rb") as f:
        colour = single_colour(f.read())
    if colour is not None:
        raise Failed(f"{path} is blank: every pixel is #{colour}")


# ---- Chromium over the DevTools pipe ----


class Browser:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, binary, profile, deadline):
        self.deadline = deadline
        to_child, self.to_browser = os.pipe()
        self.from_browser, from_child = os.pipe()

        def in_child():
            # Copies first, so that the fds land on 3 and 4 whatever numbers they had.
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = open(os.path.join(profile, "browser.log"), "wb")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-extensions",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            preexec_fn=in_child,
            close_fds=False,
            start_new_session=True,
        )
        os.close(to_child)
        os.close(from_child)
        self.buffer, self.next_id, self.events = b"", 0, []

    def receive(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Failed("timed out")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise Failed("the browser closed its DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise Failed(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method):
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    del self.events[i]
                    return e
            self.events.append(self.receive())

    def kill(self):
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the group left behind (renderers, zygotes).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


def with_browser(binary, timeout, work):
    """Runs work(browser) with a fresh Chromium, killed whatever happens."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="page-shot-") as profile:
        browser = Browser(binary, profile, deadline)
        try:
            return work(browser)
        except Failed as e:
            with open(os.path.join(profile, "browser.log"), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            # Chromium complains about the missing session bus on every start.
            tail = [line for line in lines if "dbus/" not in line][-20:]
            raise Failed("\n".join([str(e), "the browser's last output:"] + tail))
        finally:
            browser.kill()


def open_page(browser, url, width, height):
    """Opens url in a width x height viewport; returns the page's session once the
    page has loaded and painted two frames (its script has run and scrolled)."""
    targets = browser.call("Target.getTargets")["targetInfos"]
    page = next((t for t in targets if t["type"] == "page"), None)
    if page is None:
        raise Failed("the browser opened no page")
    session = browser.call(
        "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
    )["sessionId"]
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session,
    )
    browser.call("Page.enable", session=session)
    nav = browser.call("Page.navigate", {"url": url}, session)
    if nav.get("errorText"):
        raise Failed(f"cannot open {url}: {nav['errorText']}")
    browser.wait_event("Page.loadEventFired")
    evaluate(
        browser,
        session,
        "document.fonts.ready.then(() => new Promise(r => "
        "requestAnimationFrame(() => requestAnimationFrame(() => r(0)))))",
    )
    return session


def evaluate(browser, session, expression):
    """The value of a JavaScript expression in the page (a promise awaited)."""
    result = browser.call(
        "Runtime.evaluate",
        {"expression": expression, "awaitPromise": True, "returnByValue": True},
        session,
    )
    if "exceptionDetails" in result:
        details = result["exceptionDetails"]
        thrown = details.get("exception", {}).get("description") or details.get("text")
        raise Failed(f"the expression threw: {thrown}")
    return result["result"].get("value")


def capture(binary, url, out, width, height, timeout):
    def shoot(browser):
        session = open_page(browser, url, width, height)
        shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    with_browser(binary, timeout, shoot)
    check(out)


def run_eval(binary, url, expression, timeout):
    value = with_browser(
        binary,
        timeout,
        lambda b: evaluate(b, open_page(b, url, 1400, 1000), expression),
    )
    print(json.dumps(value))


def main(argv):
    # SIGTERM (from `timeout`, say) ends the capture through its clean-up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        if len(argv) == 3 and argv[1] == "check":
            check(argv[2])
        elif len(argv) == 8 and argv[1] == "capture":
            _, _, binary, url, out, width, height, timeout = argv
            capture(binary, url, out, int(width), int(height), float(timeout))
        elif len(argv) == 6 and argv[1] == "eval":
            _, _, binary, url, expression, timeout = argv
            run_eval(binary, url, expression, float(timeout))
        else:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
    except Failed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, zlib.error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
