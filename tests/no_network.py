"""Run the program with every non-local socket refused and reported.

Usage: python tests/no_network.py REPORT_FILE run.py [ARGS...]

An audit hook sees every socket Python creates or connects. Unix sockets (the
local audio server) are allowed; any other is written to REPORT_FILE and
refused, so the test that reads the report sees every attempt.
"""

import runpy
import socket
import sys


def main() -> None:
    report_path = sys.argv[1]
    sys.argv = sys.argv[2:]

    def refuse(event: str, args: tuple) -> None:
        if event == "socket.__new__":
            family = args[1]
        elif event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
            family = args[0].family
        elif event == "socket.getaddrinfo":
            family = "getaddrinfo"
        else:
            return
        if family != socket.AF_UNIX and family != -1:
            with open(report_path, "a", encoding="utf-8") as report:
                report.write(f"{event} {family!r} {args[1:]!r}\n")
            raise PermissionError(f"network refused by the test: {event}")

    sys.addaudithook(refuse)
    runpy.run_path(sys.argv[0], run_name="__main__")


main()
