// The login form: POST /api/v1/auth/login sets the cookies; then go where the user was going.
import { api } from "../api.js";
import { busy, checkForm, formValues, showErrors } from "../ui.js";

const HOMES = { customer: "/customer", staff: "/staff", admin: "/admin" };
const form = document.getElementById("login-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(form)) return;
  const values = formValues(form);
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      const body = await api.post("/api/v1/auth/login", values);
      location.assign(form.dataset.next || HOMES[body.user.role] || "/");
    } catch (error) {
      if (error.status === 401) error.details = {};
      showErrors(form, error);
    }
  });
});
