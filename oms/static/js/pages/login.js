// The login form: POST /api/v1/auth/login sets the cookies; then go where the user was going.
import { api, cookie } from "../api.js";
import { busy, checkForm, formValues, showErrors } from "../ui.js";

const HOMES = { customer: "/customer", staff: "/staff", admin: "/admin" };
const form = document.getElementById("login-form");
const COOKIES_DROPPED = "Your browser did not keep the login. This site must be opened over HTTPS "
  + "(https:// in the address bar); if it is, allow cookies for it.";

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(form)) return;
  const values = formValues(form);
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      const body = await api.post("/api/v1/auth/login", values);
      // The CSRF cookie is readable: without it the browser dropped the login (a Secure
      // cookie over plain HTTP), and going on would only bring the user back here.
      if (!cookie("csrf_access_token")) {
        showErrors(form, { details: {}, message: COOKIES_DROPPED });
        return;
      }
      location.assign(form.dataset.next || HOMES[body.user.role] || "/");
    } catch (error) {
      // A 401 (wrong email or password), a 403 (this site must be opened over HTTPS) and a
      // 429 (too many attempts, and how long to wait) are about the whole form: show the
      // server's own words above it, never field errors.
      if (error.status === 401 || error.status === 403 || error.status === 429) error.details = {};
      showErrors(form, error);
    }
  });
});
