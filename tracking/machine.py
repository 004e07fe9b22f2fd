"""Tell machine opens and clicks (privacy proxies, link scanners) from people.

Every hit gets a reason, empty for a person, kept on its event:
- "head": a HEAD request (scanners check links without fetching them);
- "apple_proxy": Apple Mail Privacy Protection, which fetches every pixel on
  delivery (its egress networks, or its bare "Mozilla/5.0" agent); opens only,
  since the same networks carry Safari users' clicks through Private Relay;
- "image_proxy": a mail provider's image proxy fetching the pixel (Google's);
- "scanner": a mail security gateway, by agent or network (Microsoft Safe
  Links, Mimecast, Proofpoint, Barracuda);
- "agent": no agent, or a bot's, a crawler's or an HTTP library's;
- "too_fast": within seconds of the mail's delivery, before a person could;
- "all_links": several links of one mail clicked within a few seconds;
- "honeypot": the hidden link only machines follow, and the mail's other
  clicks around it.
"""

import bisect
import ipaddress
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

DATA_DIR = Path(__file__).resolve().parent / "data"

HEAD = "head"
APPLE_PROXY = "apple_proxy"
IMAGE_PROXY = "image_proxy"
SCANNER = "scanner"
AGENT = "agent"
TOO_FAST = "too_fast"
ALL_LINKS = "all_links"
HONEYPOT = "honeypot"

REASON_LABELS = {
    HEAD: "HEAD request (link check)",
    APPLE_PROXY: "Apple Mail Privacy Protection",
    IMAGE_PROXY: "Mail provider's image proxy",
    SCANNER: "Security scanner",
    AGENT: "Bot or program",
    TOO_FAST: "Seconds after delivery",
    ALL_LINKS: "Every link clicked at once",
    HONEYPOT: "Hidden link followed",
}

_SCANNER_AGENTS = re.compile(
    r"mimecast|proofpoint|barracuda|safelinks|safe ?links|ms-office|microsoft office protection|"
    r"symantec|forcepoint|trend ?micro|zscaler|bitdefender|sophos|fireeye|cisco ironport",
    re.IGNORECASE,
)
_IMAGE_PROXY_AGENTS = re.compile(r"GoogleImageProxy|ggpht\.com|YahooMailProxy", re.IGNORECASE)
_BOT_AGENTS = re.compile(
    r"bot|crawler|spider|preview|scanner|python-requests|python-urllib|curl/|wget/|"
    r"go-http-client|headlesschrome|java/|okhttp|libwww|httpclient|aiohttp|node-fetch",
    re.IGNORECASE,
)
_APPLE_PROXY_AGENT = "Mozilla/5.0"


def is_machine_agent(user_agent: str) -> bool:
    return agent_reason(user_agent, kind="clicked") != ""


def agent_reason(user_agent: str, *, kind: str) -> str:
    """The reason a hit is a machine's judging by its agent alone, else ""."""
    agent = user_agent.strip()
    if not agent:
        return AGENT
    if _SCANNER_AGENTS.search(agent):
        return SCANNER
    if kind == "opened" and _IMAGE_PROXY_AGENTS.search(agent):
        return IMAGE_PROXY
    if kind == "opened" and agent == _APPLE_PROXY_AGENT:
        return APPLE_PROXY
    if _BOT_AGENTS.search(agent):
        return AGENT
    return ""


# --- Networks ---------------------------------------------------------------------


class NetworkSet:
    """Address ranges, looked up by bisection: Apple's list has tens of thousands."""

    def __init__(self, entries: list[tuple[str, str, str]]):
        # entries: (network, kind, name)
        self._tables: dict[int, tuple[list[int], list[tuple[int, str, str]]]] = {}
        rows: dict[int, list[tuple[int, int, str, str]]] = {4: [], 6: []}
        for network, kind, name in entries:
            try:
                net = ipaddress.ip_network(network.strip(), strict=False)
            except ValueError:
                continue
            rows[net.version].append(
                (int(net.network_address), int(net.broadcast_address), kind, name)
            )
        for version, items in rows.items():
            items.sort()
            self._tables[version] = ([i[0] for i in items], [i[1:] for i in items])

    def lookup(self, ip: str | None) -> tuple[str, str] | None:
        """(kind, name) of the range holding `ip`, else None."""
        if not ip:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        starts, rest = self._tables[address.version]
        value = int(address)
        position = bisect.bisect_right(starts, value) - 1
        # Ranges may nest: look back over the few that start before the address.
        for index in range(position, max(position - 8, -1), -1):
            end, kind, name = rest[index]
            if value <= end:
                return kind, name
        return None


def shipped_networks() -> list[tuple[str, str, str]]:
    entries = [
        (line.split()[0], APPLE_PROXY, "apple") for line in _data_lines("apple_proxy_ranges.txt")
    ]
    for line in _data_lines("scanner_ranges.txt"):
        name, network = line.split()[:2]
        entries.append((network, SCANNER, name))
    return entries


def _data_lines(filename: str) -> list[str]:
    lines = (DATA_DIR / filename).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


_cache: dict[str, tuple[float, NetworkSet]] = {}


def machine_networks() -> NetworkSet:
    """The stored ranges (tracking.MachineNetwork), plus the shipped scanner
    list, plus the shipped Apple sample while none were loaded; kept per
    process for TRACKING_NETWORKS_CACHE_SECONDS."""
    cached = _cache.get("networks")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    from tracking.models import MachineNetwork

    stored = list(MachineNetwork.objects.values_list("network", "kind", "name"))
    shipped = shipped_networks()
    if any(kind == APPLE_PROXY for _n, kind, _name in stored):
        shipped = [entry for entry in shipped if entry[1] != APPLE_PROXY]
    networks = NetworkSet(stored + shipped)
    _cache["networks"] = (time.monotonic() + settings.TRACKING_NETWORKS_CACHE_SECONDS, networks)
    return networks


def machine_networks_forget() -> None:
    _cache.clear()


# --- Classifying a message's hits ----------------------------------------------------


@dataclass
class Hit:
    id: int
    kind: str  # "opened" or "clicked"
    at: datetime
    ip: str | None
    user_agent: str
    link_index: int | None = None
    reason: str = ""  # set at the endpoint for HEAD requests


def hit_reason(hit: Hit, *, delivered_at: datetime | None, networks: NetworkSet) -> str:
    """The reason one hit is a machine's, judged alone, else ""."""
    if hit.reason:
        return hit.reason
    reason = agent_reason(hit.user_agent, kind=hit.kind)
    if reason:
        return reason
    found = networks.lookup(hit.ip)
    if found and (found[0] == SCANNER or hit.kind == "opened"):
        return found[0]
    too_fast = timedelta(seconds=settings.TRACKING_TOO_FAST_SECONDS)
    if delivered_at is not None and timedelta(0) <= hit.at - delivered_at < too_fast:
        return TOO_FAST
    return ""


def burst_reasons(clicks: list[Hit], *, honeypot: int | None, link_count: int) -> dict[int, str]:
    """Clicks of one mail judged together: those near a honeypot click, and
    those of a burst covering several of the mail's links. {hit id: reason}."""
    window = timedelta(seconds=settings.TRACKING_BURST_SECONDS)
    clicks = sorted(clicks, key=lambda hit: hit.at)
    reasons: dict[int, str] = {}
    for trap in (hit for hit in clicks if honeypot is not None and hit.link_index == honeypot):
        for hit in clicks:
            if abs(hit.at - trap.at) <= window:
                reasons[hit.id] = HONEYPOT
    real_links = link_count - (1 if honeypot is not None else 0)
    needed = max(2, min(real_links, settings.TRACKING_BURST_LINKS))
    for start, first in enumerate(clicks):
        burst = [hit for hit in clicks[start:] if hit.at - first.at <= window]
        if len({hit.link_index for hit in burst if hit.link_index != honeypot}) >= needed:
            for hit in burst:
                reasons.setdefault(hit.id, ALL_LINKS)
    return reasons


# --- Mail client and device of a person's open -----------------------------------------


def mail_client(user_agent: str) -> tuple[str, str]:
    """(client, device) of an open's agent, e.g. ("Apple Mail", "mobile")."""
    agent = user_agent or ""
    if "Thunderbird" in agent:
        client = "Thunderbird"
    elif re.search(r"Outlook|Microsoft Office|MSOffice", agent):
        client = "Outlook"
    elif re.search(r"GoogleImageProxy|Gmail", agent):
        client = "Gmail"
    elif (
        "AppleWebKit" in agent
        and "Safari" not in agent
        and re.search(r"iPhone|iPad|Macintosh", agent)
    ):
        client = "Apple Mail"
    else:
        client = "Other"
    if re.search(r"iPad|Tablet", agent):
        device = "tablet"
    elif re.search(r"iPhone|Android|Mobile", agent):
        device = "mobile"
    elif re.search(r"Windows|Macintosh|X11|Linux|CrOS", agent):
        device = "desktop"
    else:
        device = "unknown"
    return client, device
