#!/usr/bin/env python3
"""Open a Snakemake HTML report in headless Chromium: check that it loads, and optionally
take a screenshot of one of its results (the picture in docs/).

Chromium runs with a throw-away profile, no network services and no sandbox (so it works
as root in a container). The check reads the rendered DOM and Chromium's console log:
the report's app must have rendered its menu, and no script may have thrown.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    # Let the report's scripts (React, vega) and the view set up below finish first.
    "--virtual-time-budget=15000",
]
# A script appended to a copy of the report: open a category and show one result in it.
SHOW = """<script>
(function () {{
  function show() {{
    // `app` exists once React has mounted the report; its state updates are asynchronous.
    if (typeof app === "undefined" || !app) {{ setTimeout(show, 100); return; }}
    var path = Object.keys(results).find(function (p) {{ return p.endsWith({suffix!r}); }});
    if (!path) {{ return; }}
    var category = Object.keys(categories).find(function (c) {{
      return Object.values(categories[c]).some(function (s) {{ return s.indexOf(path) >= 0; }});
    }});
    if (category) {{ app.showCategory(category); }}
    setTimeout(function () {{
      var kind = results[path].mime_type === "text/html" ? "html" : "img";
      app.setView({{content: kind, contentPath: results[path].data_uri, resultPath: path}});
    }}, 500);
  }}
  setTimeout(show, 100);
}})();
</script>
"""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_browser(browser: str, url: str, extra: list[str], timeout: int = 60, tries: int = 2) -> subprocess.CompletedProcess:
    """Run headless Chromium on `url`; a run that hangs (it rarely does, in virtual time)
    is killed with all its processes and tried again."""
    for attempt in range(1, tries + 1):
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
            cmd = [browser, *FLAGS, f"--user-data-dir={profile}", *extra, url]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
            try:
                out, err = proc.communicate(timeout=timeout)
                return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                print(f"{browser} did not finish in {timeout} s (try {attempt} of {tries})", file=sys.stderr)
    raise SystemExit(f"{browser} did not finish in {timeout} s, {tries} times: {url}")


def console_errors(stderr: str) -> list[str]:
    """Console messages of the page that are errors (uncaught exceptions, failed loads)."""
    errors = []
    for line in stderr.splitlines():
        if ":CONSOLE" not in line:
            continue
        if re.search(r"Uncaught|Error|Failed to load|Refused to", line):
            errors.append(line)
    return errors


def visible_text(dom: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def check(report: str, browser: str | None = None) -> dict:
    """Load the report; return its rendered text and any console errors."""
    browser = browser or find_browser()
    if not browser:
        raise SystemExit(f"no Chromium found (tried {', '.join(BROWSERS)}): apt-get install chromium")
    result = run_browser(browser, Path(report).resolve().as_uri(), ["--dump-dom"])
    if result.returncode != 0:
        raise SystemExit(f"{browser} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return {"dom": result.stdout, "text": visible_text(result.stdout), "errors": console_errors(result.stderr)}


def screenshot(report: str, output: str, show: str | None = None, size: str = "1200,760",
               browser: str | None = None, colors: int = 128) -> None:
    """A PNG of the report, showing the result whose path ends with `show`."""
    browser = browser or find_browser()
    if not browser:
        raise SystemExit(f"no Chromium found (tried {', '.join(BROWSERS)})")
    with tempfile.TemporaryDirectory(prefix="shot-") as tmp:
        page = Path(report)
        if show:
            text = page.read_text(encoding="utf-8")
            page = Path(tmp) / "report.html"
            head, tag, tail = text.rpartition("</body>")  # the page's own, not one in a script
            page.write_text(head + SHOW.format(suffix=show) + tag + tail, encoding="utf-8")
        png = Path(tmp) / "shot.png"
        result = run_browser(browser, page.resolve().as_uri(),
                             [f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars"])
        if result.returncode != 0 or not png.exists():
            raise SystemExit(f"{browser} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        try:  # a palette PNG is a fraction of the size
            from PIL import Image, ImageOps

            image = Image.open(png).convert("RGB")
            # Headless Chromium's viewport is shorter than its window: drop the blank rows.
            box = ImageOps.invert(image).getbbox()
            if box:
                image = image.crop((0, 0, image.width, box[3]))
            image.quantize(colors=colors).save(png, optimize=True)
        except ImportError:
            pass
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        shutil.copyfile(png, output)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", help="the report (.html)")
    p.add_argument("--screenshot", help="write a PNG here")
    p.add_argument("--show", help="in the screenshot, show the result whose path ends with this")
    p.add_argument("--size", default="1200,760", help="window size WIDTH,HEIGHT")
    args = p.parse_args(argv)
    found = check(args.report)
    for line in found["errors"]:
        print(line, file=sys.stderr)
    print(f"{args.report}: {len(found['text'])} characters of text, {len(found['errors'])} console errors",
          file=sys.stderr)
    if args.screenshot:
        screenshot(args.report, args.screenshot, args.show, args.size)
    sys.exit(1 if found["errors"] else 0)


if __name__ == "__main__":
    main()
