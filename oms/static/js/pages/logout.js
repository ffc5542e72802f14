// The /logout page: revoke the session, then offer to log in again.
import { logout } from "../api.js";

const state = document.querySelector("[data-logout-state]");
await logout();
document.querySelector("#logout-box h1").textContent = "You are logged out";
state.textContent = "Your session has ended on this device.";
for (const node of document.querySelectorAll("[data-logout]")) node.closest("li")?.remove();
