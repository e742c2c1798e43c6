"""Stands in for `kubectl port-forward`: listens on the local port and answers like the gateway."""

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Gateway(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"route not found"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        print("Handling connection for", sys.argv[2], flush=True)


local, remote = int(sys.argv[1]), sys.argv[2]
server = HTTPServer(("127.0.0.1", local), Gateway)
# Like kubectl: port 0 means any free port, and the first line names the one bound.
print(f"Forwarding from 127.0.0.1:{server.server_address[1]} -> {remote}", flush=True)
server.serve_forever()
