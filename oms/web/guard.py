"""The one route guard of the browser pages.

A page authenticates from the JWT cookies only. A logged-out visitor is sent to
``/login?next=...``; a user without the page's role gets the friendly 403 page (an
:class:`~oms.errors.AuthorizationError`, rendered as HTML by :mod:`oms.errors` for page paths).

An access cookie lives as long as its token (15 minutes by default) while the refresh cookie
lives for days, so a page request that only carries a valid refresh cookie gets a new access
cookie in the same login session, and the refresh cookie is rotated (the same thing
``POST /api/v1/auth/refresh`` does for the JavaScript). A GET page load carries no CSRF risk:
it changes nothing but the cookies.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import after_this_request, redirect, request, url_for
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError

from oms.auth import service as auth_service
from oms.auth.access import ALL_ROLES
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.auth.tokens import issue_tokens, set_token_cookies
from oms.errors import AuthorizationError

_CACHE_KEY = "oms.page_user"
HOME_ENDPOINTS = {
    UserRole.CUSTOMER: "web.customer.home",
    UserRole.STAFF: "web.staff.queue",
    UserRole.ADMIN: "web.admin.orders",
}


def _verified_user(*, refresh: bool) -> User | None:
    """The active user of the access (or refresh) cookie, or None for any token problem."""
    try:
        verify_jwt_in_request(optional=True, refresh=refresh, locations=["cookies"])
    except (JWTExtendedException, PyJWTError):
        return None
    return get_current_user()


def current_page_user() -> User:
    """The logged-in user inside a ``@page`` view (the guard let only them in)."""
    user = page_user()
    if user is None:  # a view without the guard: a bug, not a visitor
        raise RuntimeError("current_page_user() outside a @page view")
    return user


def page_user() -> User | None:
    """The logged-in user of this browser request (renewing an expired access cookie from the
    refresh cookie), or None. Computed once per request."""
    # cached on the request (not on g: an app context may outlive one request)
    if _CACHE_KEY in request.environ:
        return request.environ[_CACHE_KEY]
    user = _verified_user(refresh=False)
    if user is None:
        user = _verified_user(refresh=True)
        if user is not None and not auth_service.spend_refresh_token(get_jwt()):
            user = None  # spent already: a copy was used, and the session has ended
        if user is not None:
            tokens = issue_tokens(user, sid=get_jwt().get("sid"))

            @after_this_request
            def _renew_cookies(response):
                set_token_cookies(response, tokens)
                return response

    request.environ[_CACHE_KEY] = user
    return user


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def home_url(user: User) -> str:
    """The dashboard a user lands on after logging in."""
    return url_for(HOME_ENDPOINTS[user.role])


def page(*roles: UserRole) -> Callable:
    """Guard a page view: logged-out visitors go to login, other roles get the 403 page."""
    allowed = roles or ALL_ROLES

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = page_user()
            if user is None:
                here = request.full_path if request.query_string else request.path
                return redirect(url_for("web.auth.login", next=here))
            if user.role not in allowed:
                raise AuthorizationError(
                    "This page is for "
                    + " and ".join(role.value for role in allowed)
                    + f" accounts; you are logged in as a {user.role.value}.",
                    details={"required": [r.value for r in allowed], "role": user.role.value},
                )
            return view(*args, **kwargs)

        wrapper._oms_page_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator
