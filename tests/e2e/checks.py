"""Checks the browser tests share: axe-core (vendored in tests/e2e/vendor/) on the open page,
and bounding-box helpers for layouts at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core on the page as it is now; one line per violation of ``impacts``."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # evaluated through the DevTools protocol: a <script> tag would be refused by the
        # page's Content-Security-Policy (no inline scripts)
        page.evaluate(AXE.read_text() + "\n;typeof window.axe")
    results = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ["violations"] });
            return r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + ": " + n.failureSummary),
            }));
        }"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): " + " | ".join(v["nodes"])
        for v in results
        if v["impact"] in impacts
    ]


def box(locator) -> dict:
    """The element's bounding box (it must be rendered). A live page may redraw a row between
    finding and measuring it, so the locator is resolved again once."""
    from playwright.sync_api import expect

    for _ in range(2):
        expect(locator).to_be_visible()
        result = locator.bounding_box()
        if result is not None:
            return result
    raise AssertionError(f"{locator} is not rendered")


def within_width(locator, width: int) -> bool:
    b = box(locator)
    return b["x"] >= 0 and b["x"] + b["width"] <= width + 0.5
