"""Pages and parts of pages cached under the data version (core.data_version), for what shows only data
of the tracked tables (migrations core/0004–0006): whole pages per user and URL (`page_cached`), partials
(`cached_html`: list bodies, the tree).

Cached HTML must not keep per-request parts. The CSRF token (forms, htmx headers) is rendered as a
placeholder (core.context_processors.csrf_placeholder) that each response replaces with the request's own
token; a whole page is rendered afresh while flash messages wait.
"""

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from functools import wraps

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from core.data_version import FIGURES_CACHE_SECONDS, cached_figures, data_version

CSRF_PLACEHOLDER = "csrf-token-placeholder-for-a-cached-page"


@contextmanager
def _placeholder_token(request):
    request.csrf_placeholder = True
    try:
        yield
    finally:
        request.csrf_placeholder = False


def _with_token(html: str, request) -> str:
    # get_token() only where a token is shown: it also asks for the CSRF cookie.
    return html.replace(CSRF_PLACEHOLDER, get_token(request)) if CSRF_PLACEHOLDER in html else html


def cached_html(*, key: str, template: str, context: Callable[[], dict], request=None, version: str | None = None):
    """The template rendered with context() (and, given the request, its context processors), cached under
    key and the data version; any CSRF token in it is this request's."""

    def build() -> str:
        if request is None:
            return render_to_string(template, context())
        with _placeholder_token(request):
            return render_to_string(template, context(), request=request)

    html = cached_figures(key=key, version=version, build=build)
    return mark_safe(_with_token(html, request) if request is not None else html)  # noqa: S308 (our template's output)


def _cacheable(request) -> bool:
    return (
        request.method == "GET"
        and request.user.is_authenticated
        and not request.headers.get("HX-Request")
        and len(get_messages(request)) == 0  # len() does not mark them read
    )


def page_cached(view):
    """Decorates a GET view: a 200 HTML answer is kept for this user and URL until the data changes."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        version = data_version()  # first: the page is then at least as new as its key
        url = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        key = f"figures:page:{view.__module__}.{view.__name__}:{request.user.pk}:{url}:{version}"
        html = cache.get(key)
        if html is None:
            with _placeholder_token(request):
                response = view(request, *args, **kwargs)
            if response.status_code != 200 or response.streaming or "html" not in response.get("Content-Type", ""):
                return response  # errors, redirects and files are not kept (none of them holds a form)
            html = response.content.decode(response.charset)
            cache.set(key, html, FIGURES_CACHE_SECONDS)
        return HttpResponse(_with_token(html, request))

    return wrapper
