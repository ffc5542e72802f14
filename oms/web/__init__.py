"""Browser pages rendered from ``templates/``: the customer portal, the staff dashboard and the
admin dashboard, plus login and registration.

Pages are thin: they check who may see them (:mod:`oms.web.guard`), render a template, and leave
the data to small JavaScript modules (``oms/static/js/``) that call the JSON API. Every blueprint
here is nested under the ``web`` blueprint of :mod:`oms.web.views`.
"""
