"""bench/RESULTS.md is one file with a section per benchmark script; each rewrites its own."""
import re
from pathlib import Path


def replace_section(path: Path, heading: str, body: str) -> None:
    """Replaces the `## heading` section of RESULTS.md (or appends it), keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = f"## {heading}\n\n{body.strip()}\n\n"
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)
