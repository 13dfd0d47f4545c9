# SPDX-License-Identifier: Apache-2.0
"""Azure IMDS (plain HTTP): managed-identity tokens (§d.1), THIM VCEK chain (§d.8), TD quote."""
import json

from .entra import issue_access_token
from .server import HttpError, Response, Service, json_response


class ImdsService(Service):
    name = "imds"
    endpoints = ("imds-token", "imds-thim", "imds-tdquote")

    def __init__(self, faults, counters, emu):
        super().__init__(faults, counters)
        self.emu = emu

    def extra_headers(self, req):
        return [("Server", "IMDS/150.870.65.1325")]

    def route(self, req):
        path = req.path.rstrip("/")
        if req.method == "GET" and path == "/metadata/identity/oauth2/token":
            return "imds-token", self.token
        if req.method == "GET" and path == "/metadata/THIM/amd/certification":
            return "imds-thim", self.thim
        if req.method == "POST" and path == "/acc/tdquote" and \
                getattr(self.emu, "tdquote", None) is not None:
            return "imds-tdquote", self.tdquote
        return None

    def not_found(self, req):
        return HttpError(404, {"error": "not_found",
                               "error_description": "The requested path was not found."})

    @staticmethod
    def _err(status, error, description):
        return HttpError(status, {"error": error, "error_description": description})

    def _metadata(self, req):
        if (req.headers.get("Metadata") or "").lower() != "true":
            raise self._err(400, "invalid_request", "Required metadata header not specified")

    def token(self, req):
        self._metadata(req)
        q = req.query
        if not q.get("api-version"):
            raise self._err(400, "invalid_request", "Required query variable 'api-version' is "
                            "missing")
        if q["api-version"] not in self.emu.imds_api_versions:
            raise self._err(400, "invalid_request", "Invalid api-version '%s'" % q["api-version"])
        resource = q.get("resource")
        if not resource:
            raise self._err(400, "invalid_request", "Required query variable 'resource' is "
                            "missing")
        ident = None
        for sel in ("client_id", "object_id", "msi_res_id"):   # spec §d.1 priority
            if q.get(sel):
                ident = self.emu.managed_identity(sel, q[sel])
                break
        else:
            ident = self.emu.managed_identity(None, None)
        if ident is None:
            raise self._err(400, "invalid_request", "Identity not found")
        token, exp, now = issue_access_token(self.emu, ident, resource, req)
        body = {"access_token": token, "refresh_token": "", "expires_in": str(exp - now),
                "expires_on": str(exp), "not_before": str(now), "resource": resource,
                "token_type": "Bearer"}
        return json_response(body)

    def thim(self, req):
        self._metadata(req)
        data = self.emu.thim_json()
        if isinstance(data, (dict, list)):
            return json_response(data)
        return Response(200, data if isinstance(data, bytes) else str(data).encode())

    def tdquote(self, req):
        try:
            body = json.loads(req.body)
            report = body["report"]
            if not isinstance(report, str):
                raise TypeError("report is not a string")
        except (ValueError, KeyError, TypeError):
            raise self._err(400, "invalid_request", "Body must be {\"report\": b64url}") from None
        try:
            quote = self.emu.tdquote(report)
        except ValueError as exc:
            raise self._err(400, "invalid_request", str(exc)) from None
        return json_response({"quote": quote})
