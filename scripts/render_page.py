"""Open an HTML file in headless Chromium, check that it renders cleanly, and screenshot it.

    python scripts/render_page.py RUN_DIR/report.html shot.png [--width 1200] [--full-page]

Uses Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) driven by Playwright,
with background networking off. Prints a JSON summary: the number of images,
how many loaded, and every console error, page error or failed request.
Exit status 1 if any image failed or anything went wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM", "/usr/bin/chromium")


def render_page(
    page_path: Path, screenshot: Path, width: int = 1200, full_page: bool = True
) -> dict:
    """Load ``page_path`` from disk, wait for it, and report what the browser saw."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on(
                "console",
                lambda msg: (
                    problems.append(f"console {msg.type}: {msg.text}")
                    if msg.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
            page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url}"))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
            )
            title = page.title()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(
                    f"the page is {overflow} px wider than the {width} px window: "
                    "something in it does not wrap"
                )
            page.screenshot(path=str(screenshot), full_page=full_page)
        finally:
            browser.close()
    return {
        "title": title,
        "images": len(images),
        "images_loaded": sum(images),
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("screenshot", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--viewport-only", action="store_true", help="not the full page")
    args = parser.parse_args()
    result = render_page(args.page, args.screenshot, args.width, not args.viewport_only)
    print(json.dumps(result, indent=2))
    ok = result["images"] == result["images_loaded"] and not result["problems"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
