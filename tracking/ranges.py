"""Reading lists of networks (Apple's egress CSV, our shipped lists)."""

import ipaddress
from collections.abc import Iterable


def networks_read(lines: Iterable[str]) -> tuple[list[str], int]:
    """The distinct valid networks of the lines (first comma- or
    space-separated field; # comments), and how many lines were skipped."""
    networks: dict[str, None] = {}
    skipped = 0
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        field = line.replace(",", " ").split()[0]
        try:
            networks[str(ipaddress.ip_network(field, strict=False))] = None
        except ValueError:
            skipped += 1
    return list(networks), skipped
