// The header's "Log out" button: revoke the login session through the API, then go to login.
import { logout } from "./api.js";

for (const button of document.querySelectorAll("[data-logout]")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    await logout();
    location.assign("/login");
  });
}
