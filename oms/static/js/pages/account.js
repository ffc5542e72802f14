// The account page: change the password (POST /api/v1/auth/password: the server ends every
// other session and sets fresh cookies for this one) and log out everywhere.
import { api } from "../api.js";
import { busy, checkForm, confirmDialog, formValues, showErrors, toast } from "../ui.js";

const form = document.getElementById("password-form");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!checkForm(form)) return;
  await busy(form.querySelector("[type=submit]"), async () => {
    try {
      await api.post("/api/v1/auth/password", formValues(form), { retry: false });
      form.reset();
      toast("Password changed. Every other device is logged out.", "success");
    } catch (error) {
      if (error.status === 429) error.details = {};
      showErrors(form, error);
    }
  });
});

document.getElementById("logout-all").addEventListener("click", async (event) => {
  const ok = await confirmDialog({
    title: "Log out everywhere?",
    message: "Every session of this account ends, this one too.",
    confirm: "Log out everywhere",
    danger: true,
  });
  if (!ok) return;
  await busy(event.currentTarget, async () => {
    await api.post("/api/v1/auth/logout-all");
    location.assign("/login");
  });
});
