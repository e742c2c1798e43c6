"""Stands in for `kubectl port-forward` in front of a loopback gateway: relays TCP to it.

Used when FAKE_GATEWAY_URL is set: the test serves the data plane, this process plays the
tunnel, printing what kubectl prints (with the port actually bound when asked for 0).
"""

import contextlib
import os
import socket
import sys
import threading
from urllib.parse import urlsplit


def pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(listener: socket.socket, target: tuple[str, int], remote: str) -> None:
    while True:
        client, _ = listener.accept()
        print("Handling connection for", remote, flush=True)
        upstream = socket.create_connection(target)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


local, remote = int(sys.argv[1]), sys.argv[2]
url = urlsplit(os.environ["FAKE_GATEWAY_URL"])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", local))
listener.listen(64)
print(f"Forwarding from 127.0.0.1:{listener.getsockname()[1]} -> {remote}", flush=True)
serve(listener, (url.hostname or "127.0.0.1", url.port or 80), remote)
