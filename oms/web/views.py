"""The landing page; the customer, staff and admin dashboards build on it."""

from __future__ import annotations

from flask import Blueprint, render_template

blp = Blueprint("web", __name__)


@blp.get("/")
def index():
    return render_template("index.html")
