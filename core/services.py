from django.contrib.auth.models import Group

from core.roles import ALL_ROLES


def role_groups_ensure() -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES]
