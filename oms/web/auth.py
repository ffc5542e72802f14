"""Login, registration, logout, password reset and account pages; the JavaScript calls
``/api/v1/auth/*``, which sets and clears the cookies."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from oms.auth.tokens import cookies_dropped_here
from oms.web.guard import page, page_user, safe_next

blp = Blueprint("auth", __name__)


@blp.get("/login")
def login():
    """The login form; ``next`` is where to go afterwards (a path on this site only). Opened
    where the browser would drop the login cookies (plain HTTP), it says so up front."""
    https_required = cookies_dropped_here()
    return render_template(
        "auth/login.html",
        next_url=safe_next(request.args.get("next")),
        already=page_user(),
        https_required=https_required.message if https_required else None,
    )


@blp.get("/register")
def register():
    """Customer self-registration."""
    return render_template("auth/register.html", next_url=safe_next(request.args.get("next")))


@blp.get("/register/confirm")
def register_confirm():
    """Opened from the confirmation email (``#token=...``): activates the account and logs in."""
    return render_template("auth/register_confirm.html")


@blp.get("/logout")
def logout():
    """Logs out (the page's script revokes the session through the API) and offers login."""
    return render_template("auth/logout.html")


@blp.get("/password-reset")
def password_reset():
    """Ask for a reset link, or (opened from the email, ``#token=...``) set the new password."""
    return render_template("auth/password_reset.html")


@blp.get("/account")
@page()
def account():
    """Change the password; log out on every device."""
    return render_template("auth/account.html")
