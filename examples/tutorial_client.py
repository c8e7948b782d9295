"""The tutorial's UDP client (sections 8.6 and 8.7), with the address from argv and scripted modes.

    python tutorial_client.py [HOST] [PORT]                  # type messages, as in the tutorial
    python tutorial_client.py [HOST] [PORT] --send MSG ...   # send each MSG, print each reply, exit
    python tutorial_client.py [HOST] [PORT] --boundaries     # send hello, world, egon and exit

`--boundaries` is the tutorial's lesson that UDP keeps message boundaries: three `sendto`
calls arrive as three datagrams, never glued together.
"""

from __future__ import annotations

import contextlib
import socket
import sys


def main(argv: list[str]) -> None:
    messages: list[str] | None = None
    boundaries = "--boundaries" in argv
    if boundaries:
        argv = [arg for arg in argv if arg != "--boundaries"]
    if "--send" in argv:
        at = argv.index("--send")
        messages = argv[at + 1 :]
        argv = argv[:at]
    host = argv[0] if len(argv) > 0 else "127.0.0.1"
    port = int(argv[1]) if len(argv) > 1 else 8080
    server_addr = (host, port)

    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # datagram protocol
    if boundaries:
        client.sendto(b"hello", server_addr)
        client.sendto(b"world", server_addr)
        client.sendto(b"egon", server_addr)
        client.close()
        return

    if messages is None:  # interactive, as in the tutorial
        while True:
            msg = input(">>>: ").strip()
            client.sendto(msg.encode("utf-8"), server_addr)
            res, _ = client.recvfrom(1024)  # wait for the reply
            print(res.decode("utf-8", errors="replace"), flush=True)

    for msg in messages:
        client.sendto(msg.encode("utf-8"), server_addr)
        print(f"sent {msg}", flush=True)
        res, _ = client.recvfrom(1024)  # wait for the reply
        print(res.decode("utf-8", errors="replace"), flush=True)
    client.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, EOFError):  # ctrl+c or ctrl+d ends it quietly
        main(sys.argv[1:])
