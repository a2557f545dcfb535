"""API tokens of the signed-in user: list, create (the key is shown once), revoke.

A token acts as its user, with that user's access; a read token cannot change anything.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.models import ApiToken
from core.services import api_token_create, api_token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “CRM sync”.",
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Writing also needs a role that may write (managers, integrations).",
    )
    expires_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires after (days)",
        help_text="Leave empty for no expiry.",
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


def _page(request, *, form, new_key=None, new_token=None):
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at")
    context = {"nav": "tokens", "form": form, "tokens": tokens, "new_key": new_key, "new_token": new_token}
    return render(request, "core/tokens.html", context)


@login_required
def token_list(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, key = api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_days=form.cleaned_data["expires_days"],
        )
        # Rendered, not redirected: the key exists only in this response (only its hash is stored). Not
        # kept by any cache; the page turns its history entry into a GET, so a reload creates no second token.
        response = _page(request, form=TokenForm(), new_key=key, new_token=token)
        response["Cache-Control"] = "no-store"
        return response
    return _page(request, form=form)


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = ApiToken.objects.filter(user=request.user, pk=pk).first()
    if token is None:  # someone else's token reads like one that does not exist
        raise Http404("No such token.")
    api_token_revoke(token=token)
    messages.success(request, f"Token {token} revoked: requests with it are now refused.")
    return redirect("tokens")
