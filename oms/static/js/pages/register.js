// Customer registration: POST /api/v1/auth/register creates the account and logs it in.
import { api } from "../api.js";
import { busy, checkForm, fieldError, formValues, showErrors } from "../ui.js";

const form = document.getElementById("register-form");

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
      await api.post("/api/v1/auth/register", values);
      location.assign(form.dataset.next || "/customer");
    } catch (error) {
      showErrors(form, error);
    }
  });
});
