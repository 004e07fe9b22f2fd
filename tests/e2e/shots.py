"""Where the browser tests leave their screenshots, to be looked at after a
run: $SHOTS_DIR, or /tmp/shots."""

import os
from pathlib import Path

SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))
SHOTS.mkdir(parents=True, exist_ok=True)
