"""A headless Chromium driven over the DevTools protocol, for the tests of the web page.

Chromium starts with an empty profile and with everything that would reach the network by
itself turned off; it writes the port it picked to ``DevToolsActivePort`` in its profile.
The page's target is driven over a websocket (aiohttp's client): navigate, evaluate,
screenshot.  Outside CI a missing chromium skips the test; under CI it fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from typing import Any

import aiohttp
from relayproc import need

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--window-size=1280,800", "--remote-debugging-port=0", "--remote-allow-origins=*",
]


class Chromium:
    def __init__(self) -> None:
        self.binary = need("chromium")
        self.profile = tempfile.TemporaryDirectory(prefix="relay-chromium-")
        self.ids = itertools.count(1)
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> Chromium:
        log = open(os.path.join(self.profile.name, "stderr"), "wb")
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        log.close()
        active = os.path.join(self.profile.name, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not _read(active).count("\n"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("chromium did not start:\n" + self.stderr())
            await asyncio.sleep(0.05)
        port = int(_read(active).split()[0])
        self.session = aiohttp.ClientSession()
        while True:
            async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t["type"] == "page"]
            if pages:
                break
            await asyncio.sleep(0.05)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Runtime.enable")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            # its helpers (renderer, crash handler, ...) are in its session and may still
            # write into the profile: they go too, before the profile does
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for attempt in range(50):
            try:
                self.profile.cleanup()
                break
            except OSError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)

    def stderr(self) -> str:
        with open(os.path.join(self.profile.name, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        assert self.ws is not None
        ident = next(self.ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method,
                                           "params": params or {}}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.receive_str(), 30))
            if reply.get("id") == ident:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", {"url": url})
        await self.wait("document.readyState === 'complete' && location.href !== 'about:blank'")

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait(self, expression: str, timeout: float = 15.0) -> Any:
        """Evaluate EXPRESSION until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            await asyncio.sleep(0.05)

    async def screenshot(self, path: str) -> None:
        result = await self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(result["data"]))


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""
