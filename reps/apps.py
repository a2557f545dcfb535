from django.apps import AppConfig


class RepsConfig(AppConfig):
    name = "reps"
    verbose_name = "Sales reps"
