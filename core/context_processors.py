from core.roles import is_manager


def navigation(request):
    user = getattr(request, "user", None)
    # No resolver match on a 404 for an unknown address: the navigation then marks nothing.
    url_name = getattr(getattr(request, "resolver_match", None), "url_name", None) or ""
    return {"user_is_manager": bool(user and user.is_authenticated and is_manager(user)), "nav_url_name": url_name}


def csrf_placeholder(request):
    """While core.page_cache renders a page to keep, forms get a placeholder instead of this request's token
    (this runs after Django's own csrf processor, so it wins)."""
    if getattr(request, "csrf_placeholder", False):
        from core.page_cache import CSRF_PLACEHOLDER

        return {"csrf_token": CSRF_PLACEHOLDER}
    return {}
