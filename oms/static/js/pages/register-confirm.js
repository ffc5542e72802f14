// Opened from the confirmation email with #token=...: POST /api/v1/auth/register/confirm
// activates the account and logs it in (the answer sets the cookies). The token never leaves
// the fragment for a URL.
import { api } from "../api.js";

const working = document.getElementById("confirm-working");
const failed = document.getElementById("confirm-error");
const done = document.getElementById("confirm-done");

function show(element) {
  working.hidden = true;
  element.hidden = false;
  element.focus?.();
}

async function confirm() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  history.replaceState(null, "", location.pathname); // out of the address bar and history
  if (!token) {
    failed.textContent = "This page needs the link from your confirmation email.";
    show(failed);
    return;
  }
  try {
    await api.post("/api/v1/auth/register/confirm", { token });
    show(done);
  } catch (error) {
    failed.textContent = (error.details && error.details.token && error.details.token.join(" ")) || error.message;
    show(failed);
  }
}
confirm();
