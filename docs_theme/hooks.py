"""mkdocs hook: the search index as a script, which a page opened from disk may load (it may
not fetch JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_post_build(config: Any, **kwargs: Any) -> None:
    search = Path(config["site_dir"]) / "search"
    index = search / "search_index.json"
    if index.is_file():
        text = index.read_text(encoding="utf-8")
        (search / "search_index.js").write_text(
            f"window.pipelinesSearchIndex = {text};\n", encoding="utf-8"
        )
