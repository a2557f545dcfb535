"""Whole pages cached per user and URL under the data version (core.data_version), for read-only pages
whose every figure comes from the tracked tables (migrations core/0004–0006).

A page holds per-request parts: the CSRF token (forms, htmx headers) and flash messages. The page is
rendered with a placeholder for the token (core.context_processors.csrf_placeholder), which each response
replaces with the request's own token; a request with messages waiting is rendered afresh, not cached.
"""

import hashlib
from functools import wraps

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token

from core.data_version import FIGURES_CACHE_SECONDS, data_version

CSRF_PLACEHOLDER = "csrf-token-placeholder-for-a-cached-page"


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
            request.csrf_placeholder = True
            try:
                response = view(request, *args, **kwargs)
            finally:
                request.csrf_placeholder = False
            if response.status_code != 200 or response.streaming or "html" not in response.get("Content-Type", ""):
                return response  # errors, redirects and files are not kept (none of them holds a form)
            html = response.content.decode(response.charset)
            cache.set(key, html, FIGURES_CACHE_SECONDS)
        return HttpResponse(html.replace(CSRF_PLACEHOLDER, get_token(request)))

    return wrapper
