"""A loopback stand-in for WeChat's three endpoints, in their documented shapes, for the
schemathesis run: every login or phone code is unknown (40029), so the API answers as it
does in production to a forged code (400 wechat_code_invalid), never 503. Prints its port."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _send(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # /sns/jscode2session
        self._send({"errcode": 40029, "errmsg": "invalid code"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/cgi-bin/stable_token"):
            self._send({"access_token": "loopback-token", "expires_in": 7200})
        else:  # /wxa/business/getuserphonenumber
            self._send({"errcode": 40029, "errmsg": "invalid code"})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
