# SPDX-License-Identifier: Apache-2.0
"""A small HTTP(S) client for the emulator: dials 127.0.0.1 for *.localhost names and sends
SNI/Host itself (Python does not resolve *.localhost), verifies TLS with the emulator CA."""
import http.client
import json
import socket
import ssl
import urllib.parse


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.body[:300])


def request(url, method="GET", body=None, headers=None, ca_file=None, timeout=30, form=None):
    u = urllib.parse.urlsplit(url)
    host = u.hostname
    dial = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    port = u.port or (443 if u.scheme == "https" else 80)
    hdrs = {"Host": u.netloc, "Accept": "application/json"}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    raw = socket.create_connection((dial, port), timeout)
    try:
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_file)
            sock = ctx.wrap_socket(raw, server_hostname=host)
        else:
            sock = raw
        conn = http.client.HTTPConnection(dial, port, timeout=timeout)
        conn.sock = sock
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        elif method in ("POST", "PUT"):
            conn.putheader("Content-Length", "0")
        conn.endheaders(data)
        resp = conn.getresponse()
        out = Reply(resp.status, resp.getheaders(), resp.read())
        conn.close()
        return out
    finally:
        raw.close()
