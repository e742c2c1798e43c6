"""Stands in for `kubectl port-forward`: listens on the local port and answers like the gateway.

With FAKE_GATEWAY=HOST:PORT it relays each connection there instead, as kubectl relays to the
proxy's pod; without it every request gets the gateway's 404.
"""

import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import BaseRequestHandler, ThreadingTCPServer


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


class Relay(BaseRequestHandler):
    def handle(self) -> None:
        print("Handling connection for", sys.argv[2], flush=True)
        host, _, port = os.environ["FAKE_GATEWAY"].rpartition(":")
        with socket.create_connection((host, int(port))) as upstream:
            back = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
            back.start()
            _pipe(self.request, upstream)
            back.join()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass


local, remote = int(sys.argv[1]), sys.argv[2]
if os.environ.get("FAKE_GATEWAY"):
    ThreadingTCPServer.allow_reuse_address = True
    ThreadingTCPServer.daemon_threads = True
    server: HTTPServer | ThreadingTCPServer = ThreadingTCPServer(("127.0.0.1", local), Relay)
else:
    server = HTTPServer(("127.0.0.1", local), Gateway)
# Like kubectl: port 0 means any free port, and the first line names the one bound.
print(f"Forwarding from 127.0.0.1:{server.server_address[1]} -> {remote}", flush=True)
server.serve_forever()
