from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.models import ApiToken
from core.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print its key (shown only once; only a hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell tokens apart (default: cli-<username>).")
        parser.add_argument("--expires-days", type=int, default=None, help="Expire after this many days.")
        parser.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ)

    def handle(self, *args, username, name, expires_days, scope, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        try:
            token, key = api_token_create(
                user=user, name=name or f"cli-{username}", scope=scope, expires_days=expires_days
            )
        except ValueError as error:
            raise CommandError(str(error))
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M %Z}" if token.expires_at else "never expires"
        self.stderr.write(f"Token {token.name!r} ({token.prefix}…, {token.scope}, {expiry}) for {username}:")
        self.stdout.write(key)
