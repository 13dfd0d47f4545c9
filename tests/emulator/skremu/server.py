# SPDX-License-Identifier: Apache-2.0
"""HTTP(S) plumbing shared by every emulated service: threaded servers on loopback, routing,
JSON errors, x-ms-request-id, request counters and the fault-injection engine."""
import json
import logging
import socket
import ssl
import struct
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = logging.getLogger("skremu")

# Fault kinds (README "Fault injection").
GENERIC_PRE = ("latency", "429", "500", "503", "reset")
GENERIC_POST = ("truncate", "malformed")
HANDLER_KINDS = ("bad-signature", "expired", "wrong-issuer")
TLS_KINDS = ("wrong-host-cert",)
KINDS = GENERIC_PRE + GENERIC_POST + HANDLER_KINDS + TLS_KINDS


class HttpError(Exception):
    """Raised by handlers: becomes a JSON error response."""

    def __init__(self, status, body, headers=None):
        super().__init__("%d %s" % (status, body))
        self.status = status
        self.body = body
        self.headers = list(headers or [])


class Response:
    def __init__(self, status=200, body=b"", headers=None,
                 content_type="application/json; charset=utf-8"):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.headers = list(headers or [])
        self.content_type = content_type


def json_response(obj, status=200, headers=None):
    return Response(status, json.dumps(obj, separators=(",", ":")), headers)


class Request:
    def __init__(self, handler, service, body):
        parsed = urllib.parse.urlsplit(handler.path)
        self.method = handler.command
        self.path = parsed.path
        self.raw_query = parsed.query
        self.query = {k: v[0] for k, v in urllib.parse.parse_qs(
            parsed.query, keep_blank_values=True).items()}
        self.headers = handler.headers
        host = (handler.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            host = host.split("]")[0] + "]"
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        self.host = host
        self.body = body
        self.service = service
        self.endpoint = None
        self.faults = service.faults

    def json(self):
        try:
            obj = json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise self.service.error(400, "BadParameter", "The request body is not valid JSON.") \
                from exc
        if not isinstance(obj, dict):
            raise self.service.error(400, "BadParameter", "The request body must be a JSON object.")
        return obj

    def form(self):
        try:
            return {k: v[0] for k, v in urllib.parse.parse_qs(
                self.body.decode("utf-8"), keep_blank_values=True).items()}
        except UnicodeDecodeError:
            return {}

    def fault(self, kind):
        """Consume a handler-level fault (bad-signature, expired, wrong-issuer) if one is set."""
        return self.faults.take([self.endpoint, self.service.name], kind)


class Faults:
    """Faults keyed by endpoint name or service name; each fires `count` times (None = forever)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def set(self, endpoint, kind, count=None, ms=None, retry_after=None):
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(KINDS)))
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1")
        fault = {"endpoint": endpoint, "kind": kind,
                 "count": None if count is None else int(count),
                 "ms": int(ms) if ms is not None else (1000 if kind == "latency" else None),
                 "retry_after": int(retry_after) if retry_after is not None else
                 (1 if kind == "429" else None)}
        with self._lock:
            self._faults = [f for f in self._faults
                            if not (f["endpoint"] == endpoint and f["kind"] == kind)]
            self._faults.append(fault)
        return fault

    def clear(self, endpoint=None, kind=None):
        with self._lock:
            self._faults = [f for f in self._faults
                            if not ((endpoint is None or f["endpoint"] == endpoint)
                                    and (kind is None or f["kind"] == kind))]

    def list(self):
        with self._lock:
            return [dict(f) for f in self._faults]

    def take(self, names, kind):
        with self._lock:
            for f in self._faults:
                if f["kind"] == kind and f["endpoint"] in names:
                    if f["count"] is not None:
                        f["count"] -= 1
                        if f["count"] <= 0:
                            self._faults.remove(f)
                    return dict(f)
        return None

    def take_first(self, names, kinds):
        for kind in kinds:
            f = self.take(names, kind)
            if f:
                return f
        return None

    def has_tls(self, service, endpoints):
        """wrong-host-cert may be set on the service or any of its endpoints (the path is not
        known during the TLS handshake)."""
        return self.take([service] + list(endpoints), "wrong-host-cert")


class Counters:
    def __init__(self):
        self._lock = threading.Lock()
        self._c = {}

    def inc(self, name):
        with self._lock:
            self._c[name] = self._c.get(name, 0) + 1

    def get(self):
        with self._lock:
            return dict(self._c)

    def reset(self):
        with self._lock:
            self._c.clear()


class Service:
    """Base class. Subclasses set name, endpoints and implement route(req) -> (endpoint, fn)."""
    name = "service"
    endpoints = ()

    def __init__(self, faults, counters):
        self.faults = faults
        self.counters = counters

    def route(self, req):
        return None

    def extra_headers(self, req):
        return []

    def error(self, status, code, message, headers=None, **extra):
        body = {"error": {"code": code, "message": message}}
        body["error"].update(extra)
        return HttpError(status, body, headers)

    def not_found(self, req):
        return self.error(404, "NotFound", "The requested resource %s was not found." % req.path)


def _reset_connection(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _malformed(body):
    if body.startswith(b"{") and b'":' in body:
        return body.replace(b'":', b'"=', 1)
    return b"{[malformed"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "skr-emulator"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def setup(self):
        ctx = self.server.ssl_context
        if ctx is not None:
            self.request.settimeout(30)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):
        LOG.info("%s %s", self.server.service.name, fmt % args)

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > 16 * 1024 * 1024:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += self.rfile.read(size)
            self.rfile.readline(8)
            if len(out) > 16 * 1024 * 1024:
                raise ValueError("body too large")

    def _dispatch(self):
        service = self.server.service
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(self, service, body)
        try:
            routed = service.route(req)
            if routed is None:
                raise service.not_found(req)
            req.endpoint, fn = routed
            service.counters.inc(req.endpoint)
            names = [req.endpoint, service.name]
            if self._pre_faults(service, names):
                return
            resp = fn(req)
        except HttpError as err:
            resp = json_response(err.body, err.status, err.headers)
        except Exception:  # a bug in the emulator must still answer
            LOG.exception("handler error")
            resp = json_response({"error": {"code": "InternalServerError",
                                            "message": "Emulator internal error."}}, 500)
        if req.endpoint:
            resp = self._post_faults(service, [req.endpoint, service.name], resp)
        self._send(service, req, resp)

    def _pre_faults(self, service, names):
        lat = service.faults.take(names, "latency")
        if lat:
            time.sleep(lat["ms"] / 1000.0)
        f = service.faults.take_first(names, ("reset", "429", "500", "503"))
        if not f:
            return False
        if f["kind"] == "reset":
            self.close_connection = True
            _reset_connection(self.connection)
            return True
        status = int(f["kind"])
        headers = []
        if status == 429:
            headers.append(("Retry-After", str(f["retry_after"])))
            body = service.throttle_body() if hasattr(service, "throttle_body") else \
                {"error": {"code": "Throttled", "message": "Rate limit is exceeded."}}
        elif status == 503:
            body = {"error": {"code": "ServiceUnavailable",
                              "message": "The service is temporarily unavailable."}}
            if f["retry_after"] is not None:
                headers.append(("Retry-After", str(f["retry_after"])))
        else:
            body = {"error": {"code": "InternalServerError",
                              "message": "Injected internal server error."}}
        self._send(service, None, json_response(body, status, headers))
        return True

    def _post_faults(self, service, names, resp):
        f = service.faults.take_first(names, ("truncate", "malformed"))
        if f and f["kind"] == "truncate":
            resp.body = resp.body[: max(1, len(resp.body) // 2)]
        elif f:
            resp.body = _malformed(resp.body)
        return resp

    def _send(self, service, req, resp):
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            if req is not None:
                for k, v in service.extra_headers(req):
                    self.send_header(k, v)
            else:
                for k, v in service.extra_headers(None):
                    self.send_header(k, v)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, service, ssl_context=None, host="127.0.0.1", port=0):
        self.service = service
        self.ssl_context = ssl_context
        super().__init__((host, port), Handler)

    def handle_error(self, request, client_address):
        LOG.debug("connection error from %s", client_address, exc_info=True)

    @property
    def port(self):
        return self.server_address[1]

    def start(self):
        t = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                             name="srv-" + self.service.name, daemon=True)
        t.start()
        return t


def tls_context(cert_path, key_path, wrong_host=None, service=None):
    """Server TLS context; when the wrong-host-cert fault is set for `service`, the SNI callback
    swaps in the wrong-host certificate for that handshake."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    if wrong_host and service is not None:
        wrong = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        wrong.minimum_version = ssl.TLSVersion.TLSv1_2
        wrong.load_cert_chain(*wrong_host)

        def sni(sock, server_name, _ctx):
            if service.faults.has_tls(service.name, service.endpoints):
                sock.context = wrong
            return None
        ctx.sni_callback = sni
    return ctx
