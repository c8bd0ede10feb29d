"""A scripted OpenAI-compatible HTTP server for tests (and for trying sanad without a model).

Stdlib only: a `ThreadingHTTPServer` on 127.0.0.1 at a free port, in a thread. It speaks just
enough of the API for the real `openai` client and `ChatOpenAI`: `POST /v1/chat/completions`
(streaming SSE and not), `POST /v1/embeddings` and `GET /v1/models`.

Each chat request takes the next scripted `Reply` from a queue; when the queue is empty the
`default` responder answers (by default: quote the first words of passage 1 and cite it).
Every request is recorded, so a test can check what the prompt carried.

    with OpenAIServer() as server:
        server.script(Reply(chunks=["كازاخستان ", "«تنضم» [1]."]), Reply(status=429))
        ...  # base_url=server.url
        server.requests[0]["body"]["messages"]

Run it by hand (`python tests/openai_server.py`) to point `sanad --base-url` at it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    """One scripted reply to a chat completion request.

    chunks: text pieces (joined for a non-streaming request).
    status/headers/error: an HTTP error reply (e.g. 429 with {"Retry-After": "0.2"}).
    delay: seconds before the response headers; first_delay: before the first text chunk;
    chunk_delay: between chunks. cut_after: after n chunks close the socket mid-body
    (cut="close") or end the body cleanly without finish_reason and [DONE] (cut="clean").
    malformed_after: after n chunks send an event whose data is not JSON.
    """

    chunks: list[str] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    delay: float = 0.0
    first_delay: float = 0.0
    chunk_delay: float = 0.0
    cut_after: int | None = None
    cut: str = "close"
    malformed_after: int | None = None
    finish_reason: str = "stop"

    @property
    def text(self) -> str:
        return "".join(self.chunks)


PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def passages_in(body: dict) -> dict[int, str]:
    """The numbered passages a chat request carried, from its last user message."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = users[-1]["content"] if users else ""
    if isinstance(content, list):
        content = " ".join(part.get("text", "") for part in content)
    return {int(n): text for n, text in PASSAGE.findall(content)}


def quoting_reply(body: dict) -> Reply:
    """Default answer: quote the first words of passage 1 and cite it, like a good model."""
    passages = passages_in(body)
    if not body.get("stream"):
        return Reply(chunks=["سؤال مستقل"])  # a condense request
    if 1 not in passages:
        return Reply(chunks=["NO_ANSWER لا تذكر المقالات المتاحة إجابة عن هذا السؤال."])
    quote = " ".join(passages[1].split()[:6])
    return Reply(chunks=["وفق المقالات، ", f"«{quote}» ", "[1]."])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [
                {"id": "test-model", "object": "model", "owned_by": "sanad-tests"}]})
        else:
            self._json(404, {"error": {"message": f"No route {self.path}", "type": "not_found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        owner = self.server.owner
        record = {"path": self.path, "body": body,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "received": time.perf_counter(), "closed_early": False}
        with owner.lock:
            owner.requests.append(record)
        path = self.path.rstrip("/")
        if path.endswith("/embeddings"):
            if owner.reject_embeddings:  # a careless server: its error echoes the credentials
                return self._json(401, {"error": {"message": "rejected "
                                                  + record["headers"].get("authorization", ""),
                                                  "type": "invalid_request_error"}})
            return self._embeddings(body)
        if not path.endswith("/chat/completions"):
            return self._json(404, {"error": {"message": f"No route {self.path}"}})
        reply = owner.next_reply(body)
        record["reply"] = reply
        if reply.delay and owner.wait_or_stop(self, reply.delay):
            record["closed_early"] = True
            return
        if reply.status != 200:
            message = reply.error or f"scripted status {reply.status}"
            code = "model_not_found" if reply.status == 404 else None
            return self._json(reply.status, {"error": {"message": message, "type": "error",
                                                       "code": code}}, reply.headers)
        if body.get("stream"):
            self._stream(body, reply, record)
        else:
            self._json(200, _completion(body, reply), reply.headers)

    # -- replies -------------------------------------------------------------------------------
    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _embeddings(self, body: dict) -> None:
        inputs = body.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else inputs
        dims = int(body.get("dimensions") or self.server.owner.embedding_dims)
        data = [{"object": "embedding", "index": i, "embedding": _vector(str(t), dims)}
                for i, t in enumerate(inputs)]
        self._json(200, {"object": "list", "data": data, "model": body.get("model", ""),
                         "usage": {"prompt_tokens": 0, "total_tokens": 0}})

    def _chunk(self, data: str) -> None:
        raw = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
        self.wfile.flush()

    def _event(self, body: dict, delta: dict, finish: str | None = None) -> None:
        payload = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                   "created": int(time.time()), "model": body.get("model", "test-model"),
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self._chunk(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n")

    def _stream(self, body: dict, reply: Reply, record: dict) -> None:
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        record["sent"] = []
        try:
            self._event(body, {"role": "assistant", "content": ""})
            for i, piece in enumerate(reply.chunks):
                if reply.cut_after is not None and i >= reply.cut_after:
                    return self._cut(reply.cut)
                if reply.malformed_after is not None and i >= reply.malformed_after:
                    self._chunk('data: {"choices": [{"delta": {"content": "x"\n\n')
                    break
                pause = reply.first_delay if i == 0 else reply.chunk_delay
                if pause and owner.wait_or_stop(self, pause):
                    record["closed_early"] = True
                    return
                self._event(body, {"content": piece})
                record["sent"].append(time.perf_counter())
            else:
                if reply.cut_after is not None and reply.cut_after >= len(reply.chunks):
                    return self._cut(reply.cut)
                self._event(body, {}, reply.finish_reason)
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                             "created": int(time.time()), "model": body.get("model"),
                             "choices": [], "usage": {"prompt_tokens": 1,
                                                      "completion_tokens": 1,
                                                      "total_tokens": 2}}
                    self._chunk(f"data: {json.dumps(usage)}\n\n")
                self._chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            record["closed_early"] = True
        finally:
            owner.closed.set()

    def _cut(self, how: str) -> None:
        if how == "clean":  # a well-formed body that simply stops
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _completion(body: dict, reply: Reply) -> dict:
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "test-model"),
            "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                         "message": {"role": "assistant", "content": reply.text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _vector(text: str, dims: int) -> list[float]:
    """A deterministic unit vector per text (hashed character trigrams)."""
    vec = [0.0] * dims
    padded = f"  {text}  "
    for i in range(len(padded) - 2):
        h = hashlib.blake2b(padded[i:i + 3].encode(), digest_size=8).digest()
        vec[int.from_bytes(h[:4], "little") % dims] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "OpenAIServer"

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a cancelled stream, a retry that gave up) is what several
        tests do on purpose: not worth a traceback in the test output. Anything else is."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class OpenAIServer:
    """Start with `with OpenAIServer() as server:` (or start()/stop()); `server.url` ends in /v1."""

    def __init__(self, default: Callable[[dict], Reply] = quoting_reply, embedding_dims: int = 64):
        self.default = default
        self.embedding_dims = embedding_dims
        self.reject_embeddings = False
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()  # set when a stream ends, for whatever reason
        self._queue: list[Reply] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "OpenAIServer":
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self._queue.extend(replies)

    def next_reply(self, body: dict) -> Reply:
        with self.lock:
            if self._queue:
                return self._queue.pop(0)
        return self.default(body)

    @property
    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"].rstrip("/").endswith("/chat/completions")]

    def wait_or_stop(self, handler: _Handler, seconds: float) -> bool:
        """Sleep, but return True early if the client hung up (or the server is stopping)."""
        deadline = time.monotonic() + seconds
        # poll, not select: select cannot watch a descriptor numbered 1024 or more, and a
        # test process that has opened many Chroma indexes (each keeps its files open) has
        # such numbers ("filedescriptor out of range in select()")
        poller = select.poll()
        poller.register(handler.connection, select.POLLIN)
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.is_set():
                return True
            if poller.poll(min(left, 0.05) * 1000):
                try:
                    if handler.connection.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
        return False


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":  # pragma: no cover - manual use
    with OpenAIServer() as srv:
        print(f"OpenAI-compatible test server at {srv.url} (Ctrl-C to stop)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
