"""The ``web`` blueprint: the landing page, and the home of every browser page blueprint.

The login pages, the customer portal, the staff dashboard and the admin dashboard are nested
blueprints of this one, so the app registers a single blueprint for all of them.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template

from oms import iso_codes
from oms.auth.enums import UserRole
from oms.errors import register_error_page
from oms.web import admin, auth, customer, staff
from oms.web.error_pages import render_error_page
from oms.web.guard import home_url, page_user

blp = Blueprint("web", __name__)
blp.register_blueprint(auth.blp)
blp.register_blueprint(customer.blp, url_prefix="/customer")
blp.register_blueprint(staff.blp, url_prefix="/staff")
blp.register_blueprint(admin.blp, url_prefix="/admin")
# Errors on browser routes (an unknown URL included, which no blueprint owns) are HTML pages.
blp.record_once(lambda state: register_error_page(state.app, render_error_page))
# The choices of every address form's country select (ISO 3166-1 alpha-2): a global, since the
# macros are imported without the page's context.
blp.record_once(lambda state: state.app.jinja_env.globals.update(countries=iso_codes.countries()))


@blp.app_context_processor
def _page_context() -> dict:
    """Who is logged in, for the navigation of every page (never fails an error page)."""
    try:
        user = page_user()
    except Exception:
        user = None
    return {"page_user": user, "UserRole": UserRole}


@blp.get("/")
def index():
    """Logged-in users go to their dashboard; visitors see what the site is."""
    user = page_user()
    if user is not None:
        return redirect(home_url(user))
    return render_template("index.html")
