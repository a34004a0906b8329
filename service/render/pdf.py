"""A pack printed to PDF by headless Chromium (`remap pack ... --pdf`).

Chromium lays the page out as it prints it (A4, the pack's ``@page`` rules and
``@media print`` CSS), so the PDF is what "Print" in a browser gives. remap
ships no PDF engine of its own: where Chromium is not installed, asking for a
PDF is an error that says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from spatial.errors import ParameterError

#: Executables tried in order, after ``REMAP_CHROMIUM``.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds a print may take (the real-data area pack is megabytes of GeoJSON).
PRINT_TIMEOUT_S = 300


def find_chromium() -> str | None:
    """The Chromium executable: ``REMAP_CHROMIUM`` if set, else the first on ``PATH``."""
    env = os.environ.get("REMAP_CHROMIUM")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def print_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium; return ``pdf_path``.

    Raises
    ------
    ParameterError
        (parameter ``pdf``) Chromium is not installed, or it failed or wrote no PDF.
    """
    exe = find_chromium()
    if exe is None:
        raise ParameterError("pdf", "printing to PDF needs headless Chromium, which is not "
                                    "installed (apt-get install chromium, or set "
                                    "REMAP_CHROMIUM to its path); the HTML pack was written "
                                    "and prints from any browser")
    pdf_path = pdf_path.resolve()
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="remap-pdf-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-background-networking",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=20000",
               f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise ParameterError("pdf", f"Chromium did not finish printing within "
                                        f"{PRINT_TIMEOUT_S} s") from exc
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise ParameterError("pdf", f"Chromium ({exe}) wrote no PDF (exit "
                                    f"{done.returncode}): {' | '.join(tail)}")
    return pdf_path
