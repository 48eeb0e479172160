"""What the tests run against: a real Junction process (the CLI from the repository's
source, as test/support/junction-process.ts starts it) and real HTTP upstreams."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = Path(os.environ.get("JUNCTION_REPO", PACKAGE.parent.parent)).resolve()
sys.path.insert(0, str(PACKAGE / "src"))

_SERVING = re.compile(r"serving (https?://[^\s,]+)(?:, admin (https?://[^\s]+))?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Junction:
    """``junction serve`` from source (node --import tsx test/support/junction-cli.ts), on 127.0.0.1,
    admin API without a token; stopped by ``stop()`` (SIGTERM) or ``kill()`` (SIGKILL)."""

    def __init__(self, workdir: Path, config: Any, *, port: int = 0, extra: Optional[List[str]] = None,
                 config_name: str = "config.json") -> None:  # fmt: skip
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if isinstance(config, (str, Path)) and Path(config).suffix in (".yaml", ".yml", ".json"):
            self.config_file = Path(config)
        else:
            self.config_file = workdir / config_name
            self.config_file.write_text(json.dumps(config))
        self.port = port
        self.extra = extra or []
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""
        self.admin_url = ""
        self._out: List[str] = []
        self._err: List[str] = []

    def start(self, timeout: float = 60.0) -> "Junction":
        args = [
            "node", "--import", "tsx", "test/support/junction-cli.ts", "serve",
            "--config", str(self.config_file), "--data", str(self.workdir / "data"),
            "--host", "127.0.0.1", "--port", str(self.port), "--admin-port", "0", "--insecure-admin",
            "--shutdown-grace-ms", "1000",
            *self.extra,
        ]  # fmt: skip
        self._out, self._err = [], []
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def read_out() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self._out.append(line)
                m = _SERVING.search(line)
                if m and not found.is_set():
                    self.url, self.admin_url = m.group(1), m.group(2) or ""
                    found.set()

        def read_err() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self._err.append(line)

        threading.Thread(target=read_out, daemon=True).start()
        threading.Thread(target=read_err, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"junction did not start:\n{''.join(self._out)}\n{''.join(self._err)}")
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def logs(self) -> str:
        return "".join(self._out) + "".join(self._err)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def apply(self, config: Any, message: str = "test") -> int:
        """PUT /admin/config (JSON, or YAML text): the new revision's number."""
        body = config.encode() if isinstance(config, str) else json.dumps(config).encode()
        kind = "application/yaml" if isinstance(config, str) else "application/json"
        res = request(f"{self.admin_url}/admin/config?message={quote(message)}", "PUT", body, {"content-type": kind})
        if res[0] != 200:
            raise RuntimeError(f"apply refused: {res[0]} {res[2][:500]!r}")
        return json.loads(res[2])["revision"]

    def get_json(self, path: str) -> Any:
        status, _, body = request(self.url + path)
        assert status == 200, body
        return json.loads(body)

    def decide_batch(self, items: List[Dict[str, Any]]) -> Dict[str, Any]:
        status, _, body = request(
            self.url + "/v1/decide", "POST", json.dumps({"requests": items}).encode(), {"content-type": "application/json"}
        )
        assert status == 200, body[:500]
        return json.loads(body)

    def metric(self, name: str, labels: Dict[str, str], api_key: Optional[str] = None) -> float:
        """The sum of a Prometheus series' samples whose labels include ``labels``."""
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        status, _, body = request(self.url + "/metrics", headers=auth)
        assert status == 200, body[:300]
        total = 0.0
        for line in body.decode().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            head, _, value = line.rpartition(" ")
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(value)
        return total


def request(url: str, method: str = "GET", body: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None, timeout: float = 30) -> tuple:  # fmt: skip
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


class Upstream:
    """A real HTTP server recording what it received; answers 200 JSON naming itself, or as told."""

    def __init__(self, name: str = "upstream") -> None:
        self.name = name
        self.received: List[Dict[str, Any]] = []
        self.handler: Optional[Callable[[BaseHTTPRequestHandler, bytes], None]] = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command == "GET" and outer.handler is None:
                    # Junction's health checks: ready for every protocol's reading, and not recorded.
                    out = b'{"ready":true,"model_version_status":[{"state":"AVAILABLE"}],"data":[]}'
                    answer(self, 200, out)
                    return
                outer.received.append(
                    {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body}
                )  # fmt: skip
                if outer.handler is not None:
                    outer.handler(self, body)
                    return
                out = json.dumps({"served": outer.name}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json",
           headers: Optional[Dict[str, str]] = None) -> None:  # fmt: skip
    try:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the caller gave up (a test of timeouts)


def wait_until(pred: Callable[[], bool], timeout: float = 10.0, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return pred()
