from core.roles import is_manager


def navigation(request):
    user = getattr(request, "user", None)
    return {"user_is_manager": bool(user and user.is_authenticated and is_manager(user))}
