"""Tell machine opens and clicks (privacy proxies, link scanners) from people."""

import re

# Fetchers that load every pixel or follow every link with nobody reading.
_MACHINE_AGENTS = re.compile(
    r"bot|crawler|spider|preview|scanner|proofpoint|mimecast|barracuda|"
    r"python-requests|curl/|wget/|go-http-client|headlesschrome",
    re.IGNORECASE,
)


def is_machine_agent(user_agent: str) -> bool:
    return not user_agent or bool(_MACHINE_AGENTS.search(user_agent))
