from django.core.management.base import BaseCommand

from accounts import demo_data

APP_URL = "http://127.0.0.1:8000/"


class Command(BaseCommand):
    help = "Print the app's URL and the demo logins that exist in this database."

    def handle(self, *args, **options):
        logins = demo_data.demo_logins_existing()
        self.stdout.write(f"Territory Manager: {APP_URL}")
        if not logins:
            self.stdout.write("No demo logins in this database (run `python manage.py seed_demo` on an empty one).")
            return
        self.stdout.write("Demo logins (demo-only passwords):")
        for login in logins:
            note = f"  {login.note}" if login.note else ""
            self.stdout.write(f"  {login.username:<13} {login.password:<17} {login.role:<14}{note}")
