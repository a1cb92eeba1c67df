"""A real headless browser for tests that check rendered pages (Debian's chromium, installed on demand)."""

import subprocess
from pathlib import Path

INSTALL = Path(__file__).parent / "install_chromium.sh"


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium (installing it first if missing): no sandbox (root in CI), no GPU, no network use."""
    subprocess.run(["bash", str(INSTALL)], check=True, capture_output=True, timeout=900)
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--no-first-run", "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=timeout, check=True)
