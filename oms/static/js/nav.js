// The page frame of every logged-in page: the header's "Log out" button, the header's link strip
// (scrolls sideways when the links do not fit, fading out while there are more), and the cells of
// stacked tables (`.table-wrap.stack`), which show their column's name at phone width.
import { logout } from "./api.js";

for (const button of document.querySelectorAll("[data-logout]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    await logout();
    location.assign("/login");
  });
}

// ---- the link strip ----
const strip = document.querySelector(".site-header nav > ul:nth-child(2):not(:last-child)");
if (strip) {
  const cue = () => {
    strip.toggleAttribute("data-more", strip.scrollLeft + strip.clientWidth < strip.scrollWidth - 2);
    strip.toggleAttribute("data-more-left", strip.scrollLeft > 2);
  };
  strip.addEventListener("scroll", cue, { passive: true });
  window.addEventListener("resize", cue);
  const current = strip.querySelector("[aria-current=page]");
  if (current && current.offsetLeft + current.offsetWidth > strip.clientWidth) {
    strip.scrollLeft = Math.max(0, current.offsetLeft - strip.clientWidth / 2);
  }
  cue();
}

// ---- stacked tables: every cell carries its column's name (data-label, shown by app.css) ----
function label(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((cell, i) => {
      if (cell.hasAttribute("colspan") || !names[i]) return;
      if (cell.dataset.label !== names[i]) cell.dataset.label = names[i];
    });
  }
}
for (const table of document.querySelectorAll(".table-wrap.stack table")) {
  label(table);
  new MutationObserver(() => label(table)).observe(table, { childList: true, subtree: true });
}
