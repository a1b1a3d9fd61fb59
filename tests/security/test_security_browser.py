"""Attacks from web pages, in Debian's Chromium through Playwright (issue 22's Show).

A page served from another local origin (another port) tries every request shape a page can
send without the user's help (``fetch`` with ``no-cors`` and text/plain, form POSTs in text/plain
and multipart, XHR with JSON) against speech, designs, clones, uploads and voice deletion; a
page reached through a name that resolves to 127.0.0.1 (DNS rebinding, by
``--host-resolver-rules``) tries to read and delete voices. Afterwards the emulator shows no new
task and no new voice, and the registered voice is still there.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.security.conftest import emulator_state, root
from tests.studio.conftest import CHROMIUM, chromium_args

from cosyvoice_clone.emulator.server import RunningEmulator

REBIND = "rebind.test"
SAMPLE = Path(__file__).parents[2] / "src" / "cosyvoice_clone" / "data" / "reference_en.wav"

ATTACK = """
<!doctype html><html><body><script>
const T = %(target)s, VOICE = %(voice)s;
const speech = JSON.stringify({model: "tts-1", input: "spend the account", voice: "alloy"});
const design = JSON.stringify({prompt: "a voice", prefix: "evil", preview_text: "hello"});
const results = [];
async function attempt(name, run) {
  try { const r = await run(); results.push([name, r && r.type, r && r.status,
        r && r.type !== "opaque" ? await r.text() : ""]); }
  catch (e) { results.push([name, "error", 0, String(e)]); }
}
function xhr(method, url, type, body) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    if (type) x.setRequestHeader("Content-Type", type);
    x.onload = () => resolve({type: "xhr", status: x.status, text: async () => x.responseText});
    x.onerror = () => resolve({type: "xhr-error", status: 0, text: async () => ""});
    x.send(body);
  });
}
function form(action, enctype, fields, file) {
  const frame = document.createElement("iframe");
  frame.name = "f" + Math.random().toString(36).slice(2);
  document.body.appendChild(frame);
  const f = document.createElement("form");
  f.method = "POST"; f.action = action; f.enctype = enctype; f.target = frame.name;
  for (const [k, v] of Object.entries(fields)) {
    const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i);
  }
  if (file) {
    const i = document.createElement("input"); i.type = "file"; i.name = "file";
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(file)], "a.wav", {type: "audio/wav"}));
    i.files = dt.files; f.appendChild(i);
  }
  document.body.appendChild(f);
  f.submit();
  return new Promise((resolve) => frame.onload = () => resolve(null));
}
(async () => {
  const wav = await (await fetch("/sample.wav")).arrayBuffer();
  const nc = (path, body, type, method = "POST") => fetch(T + path, {method, mode: "no-cors",
    headers: type ? {"Content-Type": type} : {}, body});
  await attempt("no-cors speech", () => nc("/v1/audio/speech", speech, "text/plain"));
  await attempt("no-cors designs", () => nc("/studio/api/designs", design, "text/plain"));
  await attempt("no-cors clones", () => nc("/studio/api/clones",
    JSON.stringify({sample_id: "x", prefix: "evil"}), "text/plain"));
  await attempt("no-cors studio speech", () => nc("/studio/api/speech",
    JSON.stringify({voice: VOICE, text: "hello"}), "text/plain"));
  const fd = new FormData(); fd.append("file", new Blob([wav], {type: "audio/wav"}), "a.wav");
  await attempt("no-cors multipart upload", () => nc("/studio/api/samples?name=a.wav", fd));
  await attempt("no-cors raw upload", () => nc("/studio/api/samples?name=a.wav",
    new Blob([wav]), "text/plain"));
  await attempt("cors delete", () => fetch(T + "/studio/api/voices/" + VOICE,
    {method: "DELETE"}));
  await attempt("no-cors delete", () => nc("/studio/api/voices/" + VOICE, null, null, "DELETE"));
  await attempt("cors read voices", () => fetch(T + "/studio/api/voices"));
  await attempt("cors read v1 voices", () => fetch(T + "/v1/audio/voices"));
  await attempt("cors read page", () => fetch(T + "/"));
  await attempt("xhr json speech", () => xhr("POST", T + "/v1/audio/speech",
    "application/json", speech));
  await attempt("xhr json designs", () => xhr("POST", T + "/studio/api/designs",
    "application/json", design));
  await attempt("xhr text speech", () => xhr("POST", T + "/v1/audio/speech",
    "text/plain", speech));
  await form(T + "/v1/audio/speech", "text/plain",
    {'{"model":"tts-1","voice":"alloy","input":"spend","x":"': '"}'});
  await form(T + "/studio/api/designs", "text/plain",
    {'{"prompt":"a voice","prefix":"evil","x":"': '"}'});
  await form(T + "/studio/api/samples?name=a.wav", "multipart/form-data", {}, wav);
  await form(T + "/studio/api/voices/" + VOICE + "?_method=DELETE", "multipart/form-data", {});
  window.results = results;
  window.done = true;
})();
</script></body></html>
"""


class EvilSite:
    """A web page server on another local port: ``/`` is the attack, ``/sample.wav`` a sample
    (any Host is answered, so it also serves ``rebind.test``)."""

    def __init__(self, html: str, sample: bytes) -> None:
        pages = {"/": (html.encode(), "text/html"), "/sample.wav": (sample, "audio/wav")}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, ctype = pages.get(self.path.split("?")[0], (b"evil", "text/plain"))
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def rebinding_browser() -> Iterator[Any]:
    """Debian's Chromium (as tests/studio launches it) resolving ``rebind.test`` to 127.0.0.1."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    sync_api = pytest.importorskip("playwright.sync_api")
    args = [*chromium_args(), f"--host-resolver-rules=MAP {REBIND} 127.0.0.1"]
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_page(rebinding_browser: Any) -> Iterator[Any]:
    context = rebinding_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def settle_and_compare(emulator: RunningEmulator, before: dict[str, Any]) -> None:
    time.sleep(1.0)  # anything a request had started would have reached the emulator by now
    assert emulator_state(emulator) == before


def test_a_page_from_another_origin_cannot_spend_read_or_change(
    protected: Any,
    voice: str,
    cosyvoice_emulator: RunningEmulator,
    browser_page: Any,
    home: Path,
) -> None:
    server = protected()
    before = emulator_state(cosyvoice_emulator)
    html = ATTACK % {"target": json.dumps(root(server)), "voice": json.dumps(voice)}
    evil = EvilSite(html, SAMPLE.read_bytes())
    try:
        browser_page.goto(f"http://127.0.0.1:{evil.port}/")
        browser_page.wait_for_function("window.done === true", timeout=60_000)
        results = browser_page.evaluate("window.results")
    finally:
        evil.close()
    names = [r[0] for r in results]
    assert len(names) == 14, names
    for name, kind, status, text in results:
        assert voice not in text, (name, text)  # nothing read
        if kind == "xhr":
            assert status in (0, 403), (name, status)
        # a no-cors answer is opaque; a CORS one failed (no Access-Control-Allow-Origin)
        assert kind in ("opaque", "error", "xhr-error", "xhr"), (name, kind)
    settle_and_compare(cosyvoice_emulator, before)
    listed = httpx.get(root(server) + "/studio/api/voices").json()["voices"]
    assert [v["voice_id"] for v in listed] == [voice]
    samples = home / "studio" / "samples"
    assert not samples.exists() or not any(samples.iterdir())


def test_dns_rebinding_gets_nothing(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator, browser_page: Any
) -> None:
    server = protected()
    before = emulator_state(cosyvoice_emulator)
    # the resolver rule works: a server that answers any name is reached as rebind.test
    evil = EvilSite("<p id=ok>reached</p>", b"")
    try:
        browser_page.goto(f"http://{REBIND}:{evil.port}/")
        assert browser_page.text_content("#ok") == "reached"
    finally:
        evil.close()
    answer = browser_page.goto(f"http://{REBIND}:{server.port}/")
    assert answer is not None and answer.status == 421
    assert "--allowed-host rebind.test" in browser_page.content()
    results = browser_page.evaluate(
        """async (voice) => {
            const out = [];
            for (const [method, path] of [
                ["GET", "/studio/api/voices"], ["GET", "/v1/audio/voices"],
                ["DELETE", "/studio/api/voices/" + voice], ["GET", "/studio/api/config"]]) {
              const r = await fetch(path, {method});
              out.push([method, path, r.status, await r.text()]);
            }
            const s = await fetch("/v1/audio/speech", {method: "POST",
              headers: {"Content-Type": "application/json"},
              body: JSON.stringify({model: "tts-1", input: "spend", voice: "alloy"})});
            out.push(["POST", "/v1/audio/speech", s.status, await s.text()]);
            return out;
        }""",
        voice,
    )
    for method, path, status, text in results:
        assert status == 421, (method, path, status)
        assert voice not in text and "host_not_allowed" in text
    settle_and_compare(cosyvoice_emulator, before)
    listed = httpx.get(root(server) + "/studio/api/voices").json()["voices"]
    assert [v["voice_id"] for v in listed] == [voice]


def test_the_studio_page_itself_still_works(protected: Any, voice: str, browser_page: Any) -> None:
    """The page (same origin) lists voices and auditions one: its token travels by itself."""
    server = protected()
    browser_page.goto(root(server) + "/")
    browser_page.wait_for_function(
        '(voice) => document.querySelector(`option[value="${voice}"]`) !== null', arg=voice
    )
    spoken = browser_page.evaluate(
        """async (voice) => {
            const { api } = await import("/studio/static/api.js");
            const order = await api("/studio/api/speech", {method: "POST",
              json: {voice, text: "Hello there.", format: "wav"}});
            const audio = await fetch(order.audio_url);
            return [audio.status, (await audio.arrayBuffer()).byteLength];
        }""",
        voice,
    )
    assert spoken[0] == 200 and spoken[1] > 44
