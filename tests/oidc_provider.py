"""A small OpenID Connect provider for tests: a real HTTP server on 127.0.0.1, in a thread.

It speaks the authorization code flow as an identity provider such as eGov's does: discovery
(/.well-known/openid-configuration), an authorization page where the person picks a test
identity and approves (or cancels), the token endpoint (client secret by POST or Basic, the
redirect URI checked again, PKCE S256 checked when the client sent a challenge, codes used
once), an ID token signed RS256 with a key made at start (issuer, audience, expiry, nonce when
given), userinfo with the bearer access token, and the JWKS. Claims go in the userinfo
response, the ID token or both (`claims_in`). Tests only: nothing here is production code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalOIDCProvider:
    def __init__(self, *, client_id: str = "birge-test", client_secret: str = "test-only-secret"):  # noqa: S107
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        # identity key -> claims (a "sub" at least); the authorization page lists them.
        self.users: dict[str, dict] = {}
        self.claims_in = "both"  # "userinfo", "id_token" or "both"
        self.fail_token = False  # the token endpoint answers 500
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) seen, for assertions
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LocalOIDCProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the provider says about itself ---------------------------------------------

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile"],
        }

    def jwks(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def id_token(self, claims: dict, nonce: str | None) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": self.client_id, "iat": now, "exp": now + 300}
        if nonce:
            payload["nonce"] = nonce
        payload.update(claims)
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})

    # --- a person at the authorization page, without a browser -----------------------------

    def approve(self, authorize_url: str, user: str | None, *, cancel: bool = False) -> str:
        """Open the authorization page at `authorize_url` and approve as `user` (or cancel):
        the URL the provider sends the browser back to (the client's callback)."""
        assert authorize_url.startswith(self.url + "/authorize?"), authorize_url
        with urllib.request.urlopen(authorize_url, timeout=10) as page:
            assert page.status == 200
        query = urlsplit(authorize_url).query
        form = {"request": query, "decision": "cancel" if cancel else "approve"}
        if user is not None:
            form["user"] = user
        request = urllib.request.Request(
            f"{self.url}/authorize", data=urlencode(form).encode(), method="POST"
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(request, timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 302, exc.code
            return exc.headers["Location"]
        raise AssertionError("the provider did not redirect back")

    # --- HTTP -----------------------------------------------------------------------------

    def _handler(self):
        op = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body=b"", ctype="application/json", headers=None):
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _form(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

            def do_GET(self):
                parts = urlsplit(self.path)
                op.requests.append(("GET", parts.path))
                if parts.path == "/.well-known/openid-configuration":
                    return self._send(200, op.discovery())
                if parts.path == "/jwks":
                    return self._send(200, op.jwks())
                if parts.path == "/authorize":
                    return self._authorize_page(parts.query)
                if parts.path == "/userinfo":
                    return self._userinfo()
                return self._send(404, {"error": "not_found"})

            def do_POST(self):
                parts = urlsplit(self.path)
                op.requests.append(("POST", parts.path))
                if parts.path == "/authorize":
                    return self._authorize_decide(self._form())
                if parts.path == "/token":
                    return self._token(self._form())
                return self._send(404, {"error": "not_found"})

            def _check_request(self, query: str) -> tuple[dict | None, str | None]:
                params = {k: v[0] for k, v in parse_qs(query).items()}
                if params.get("client_id") != op.client_id:
                    return None, "unknown client_id"
                if params.get("response_type") != "code":
                    return None, "response_type must be code"
                if "openid" not in params.get("scope", "").split():
                    return None, "scope must include openid"
                if not params.get("redirect_uri", "").startswith(("http://", "https://")):
                    return None, "bad redirect_uri"
                if "code_challenge" in params and params.get("code_challenge_method") != "S256":
                    return None, "only S256 PKCE"
                return params, None

            def _authorize_page(self, query: str):
                params, problem = self._check_request(query)
                if problem:
                    return self._send(400, f"<p>{problem}</p>", "text/html; charset=utf-8")
                buttons = "".join(
                    f'<button type="submit" name="user" value="{html.escape(key)}">'
                    f"Approve as {html.escape(claims.get('name', key))}</button>"
                    for key, claims in op.users.items()
                )
                page = (
                    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                    "<title>Local identity provider</title></head><body>"
                    "<h1>Local identity provider</h1>"
                    f"<p>Birge asks who you are ({html.escape(params['scope'])}).</p>"
                    "<form method='post' action='/authorize'>"
                    f"<input type='hidden' name='request' value='{html.escape(query)}'>"
                    "<input type='hidden' name='decision' value='approve'>"
                    f"{buttons}</form>"
                    "<form method='post' action='/authorize'>"
                    f"<input type='hidden' name='request' value='{html.escape(query)}'>"
                    "<input type='hidden' name='decision' value='cancel'>"
                    "<button type='submit'>Cancel</button></form></body></html>"
                )
                return self._send(200, page, "text/html; charset=utf-8")

            def _authorize_decide(self, form: dict):
                params, problem = self._check_request(form.get("request", ""))
                if problem:
                    return self._send(400, {"error": problem})
                back = {"state": params["state"]} if "state" in params else {}
                user = form.get("user")
                if form.get("decision") != "approve" or user not in op.users:
                    back["error"] = "access_denied"
                else:
                    code = secrets.token_urlsafe(24)
                    op.codes[code] = {
                        "user": user,
                        "redirect_uri": params["redirect_uri"],
                        "nonce": params.get("nonce"),
                        "challenge": params.get("code_challenge"),
                    }
                    back["code"] = code
                sep = "&" if "?" in params["redirect_uri"] else "?"
                location = f"{params['redirect_uri']}{sep}{urlencode(back)}"
                return self._send(302, b"", "text/plain", {"Location": location})

            def _client_ok(self, form: dict) -> bool:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    decoded = base64.b64decode(auth[6:]).decode()
                    client_id, _, secret = decoded.partition(":")
                else:
                    client_id, secret = form.get("client_id"), form.get("client_secret")
                return client_id == op.client_id and secret == op.client_secret

            def _token(self, form: dict):
                if op.fail_token:
                    return self._send(500, {"error": "server_error"})
                if not self._client_ok(form):
                    return self._send(401, {"error": "invalid_client"})
                if form.get("grant_type") != "authorization_code":
                    return self._send(400, {"error": "unsupported_grant_type"})
                grant = op.codes.pop(form.get("code", ""), None)  # a code works once
                if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                    return self._send(400, {"error": "invalid_grant"})
                if grant["challenge"]:
                    verifier = form.get("code_verifier", "")
                    digest = hashlib.sha256(verifier.encode()).digest()
                    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                    if expected != grant["challenge"]:
                        return self._send(400, {"error": "invalid_grant", "pkce": "mismatch"})
                claims = op.users[grant["user"]]
                token_claims = claims if op.claims_in in ("both", "id_token") else {}
                access = secrets.token_urlsafe(24)
                op.tokens[access] = claims
                return self._send(
                    200,
                    {
                        "access_token": access,
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": op.id_token(
                            {"sub": claims["sub"], **token_claims}, grant["nonce"]
                        ),
                    },
                )

            def _userinfo(self):
                auth = self.headers.get("Authorization", "")
                claims = op.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
                if claims is None:
                    return self._send(401, {"error": "invalid_token"})
                if op.claims_in == "id_token":
                    return self._send(200, {"sub": claims["sub"]})
                return self._send(200, claims)

        return Handler


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
