// The print views (packing slip, pick list): the toolbar's Print button opens the browser's
// print dialog; print.css lays the page out for paper.
const button = document.querySelector("[data-print]");
if (button) button.addEventListener("click", () => window.print());
