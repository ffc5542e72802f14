// Customer registration: POST /api/v1/auth/register answers the same for a new and a known
// email ("check your inbox"); the account works once the emailed link is followed
// (/register/confirm).
import { api } from "../api.js";
import { busy, checkForm, fieldError, formValues, showErrors } from "../ui.js";

const form = document.getElementById("register-form");
const done = document.getElementById("register-done");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(form)) return;
  const values = formValues(form);
  // The address is optional, but a partial one is not an address.
  if (values.address) {
    const missing = ["line1", "city", "postal_code", "country"].filter((k) => !values.address[k]);
    if (missing.length) {
      missing.forEach((k) => fieldError(form, `address.${k}`, "Fill this in, or leave the whole address empty."));
      return;
    }
    values.address.country = values.address.country.toUpperCase();
  }
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      const body = await api.post("/api/v1/auth/register", values);
      form.hidden = true;
      done.querySelector("[data-slot=message]").textContent = body.message;
      done.hidden = false;
      done.focus();
    } catch (error) {
      showErrors(form, error);
    }
  });
});
