"""The tutorial's UDP server (section 8.6), with the address from argv and a scripted mode.

    python tutorial_server.py [HOST] [PORT]               # type each reply, as in the tutorial
    python tutorial_server.py [HOST] [PORT] --reply TEXT  # reply TEXT to every datagram

Each datagram received is printed on its own line (decoded as UTF-8).
"""

from __future__ import annotations

import contextlib
import socket
import sys


def main(argv: list[str]) -> None:
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return
    reply: str | None = None
    if "--reply" in argv:
        at = argv.index("--reply")
        reply = argv[at + 1]
        argv = argv[:at] + argv[at + 2 :]
    host = argv[0] if len(argv) > 0 else "127.0.0.1"
    port = int(argv[1]) if len(argv) > 1 else 8080

    # address family: internet; type: datagram (UDP)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((host, port))
    print(f"listening on {host}:{port}", flush=True)
    while True:
        client_data, client_addr = server.recvfrom(1024)  # 1024: the most one datagram may bring
        print(client_data.decode("utf-8", errors="replace"), flush=True)
        msg = reply
        if msg is None:  # as in the tutorial: show who wrote, and ask for the reply
            msg = input(f"reply to {client_addr[0]}:{client_addr[1]} >>>: ")
        server.sendto(msg.encode("utf-8"), client_addr)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, EOFError):  # ctrl+c or ctrl+d ends it quietly
        main(sys.argv[1:])
