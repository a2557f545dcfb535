from django.db import models


class Seniority(models.IntegerChoices):
    JUNIOR = 1, "Junior"
    INTERMEDIATE = 2, "Intermediate"
    SENIOR = 3, "Senior"
    PRINCIPAL = 4, "Principal"
