// Password reset: ask for the link (POST /api/v1/auth/password-reset, the same answer for any
// email), or, opened from the email with #token=..., set the new password
// (POST /api/v1/auth/password-reset/confirm). The token never leaves the fragment for a URL.
import { api } from "../api.js";
import { busy, checkForm, formValues, showErrors } from "../ui.js";

const requestForm = document.getElementById("reset-request-form");
const confirmForm = document.getElementById("reset-confirm-form");
const done = document.getElementById("reset-done");
let token = null;

function finish(message) {
  requestForm.hidden = true;
  confirmForm.hidden = true;
  done.textContent = message;
  done.hidden = false;
  done.focus();
}

// The link may open in a fresh tab or in this one (then only the fragment changes).
function takeToken() {
  const found = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!found) return;
  token = found;
  requestForm.hidden = true;
  done.hidden = true;
  confirmForm.hidden = false;
  history.replaceState(null, "", location.pathname); // out of the address bar and history
}
takeToken();
window.addEventListener("hashchange", takeToken);

requestForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(requestForm)) return;
  await busy(requestForm.querySelector("[type=submit]"), async () => {
    try {
      const body = await api.post("/api/v1/auth/password-reset", formValues(requestForm));
      finish(body.message);
    } catch (error) {
      if (error.status === 429) error.details = {};
      showErrors(requestForm, error);
    }
  });
});

confirmForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(confirmForm)) return;
  await busy(confirmForm.querySelector("[type=submit]"), async () => {
    try {
      const body = await api.post("/api/v1/auth/password-reset/confirm", { ...formValues(confirmForm), token });
      finish(body.message);
    } catch (error) {
      // a bad token has no field of its own: say it above the form
      if (error.details && error.details.token) {
        error.message = error.details.token.join(" ");
        delete error.details.token;
      }
      showErrors(confirmForm, error);
    }
  });
});
