"""The tutorial's UDP client (sections 8.6 and 8.7), with the address from argv and scripted modes.

    python tutorial_client.py [HOST] [PORT]                  # type messages, as in the tutorial
    python tutorial_client.py [HOST] [PORT] --send MSG ...   # send each MSG, print each reply, exit
    python tutorial_client.py [HOST] [PORT] --boundaries     # send hello, world, egon and exit
    python tutorial_client.py [HOST] [PORT] --timeout 2      # give up on a reply after 2 s

Like the tutorial's, the client waits for a reply after each message, forever: a datagram
lost on the way (try `udptui --listen 9000 --forward 127.0.0.1:8080 --loss 50%` between it
and the server) leaves it waiting. `--timeout SECONDS` makes it say so and go on.

`--boundaries` is the tutorial's lesson that UDP keeps message boundaries: three `sendto`
calls arrive as three datagrams, never glued together.
"""

from __future__ import annotations

import contextlib
import socket
import sys


def main(argv: list[str]) -> None:
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return
    timeout: float | None = None
    if "--timeout" in argv:
        at = argv.index("--timeout")
        timeout = float(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
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
    client.settimeout(timeout)
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
            print_reply(client, timeout)

    for msg in messages:
        client.sendto(msg.encode("utf-8"), server_addr)
        print(f"sent {msg}", flush=True)
        print_reply(client, timeout)
    client.close()


def print_reply(client: socket.socket, timeout: float | None) -> None:
    """Wait for the reply (forever, as the tutorial does, unless `--timeout`) and print it."""
    try:
        res, _ = client.recvfrom(1024)
    except TimeoutError:
        print(f"(no reply in {timeout:g} s: lost on the way?)", flush=True)
        return
    print(res.decode("utf-8", errors="replace"), flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, EOFError):  # ctrl+c or ctrl+d ends it quietly
        main(sys.argv[1:])
