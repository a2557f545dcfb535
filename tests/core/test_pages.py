import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_renders_the_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_it_logs_in_with_a_username_and_password(client, manager_user):
    response = client.post(reverse("login"), {"username": manager_user.username, "password": "pw-for-tests"})
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_it_refuses_a_wrong_password(client, manager_user):
    response = client.post(reverse("login"), {"username": manager_user.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert "_auth_user_id" not in client.session


def test_it_redirects_anonymous_users_from_home_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('home')}"


def test_it_renders_home_for_a_logged_in_user(client, rep_user):
    client.force_login(rep_user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "core/home.html" in [t.name for t in response.templates]


def test_it_answers_the_health_check_without_login(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_refuses_a_login_post_without_a_csrf_token(manager_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": manager_user.username, "password": "pw-for-tests"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_accepts_a_login_post_with_the_csrf_token(manager_user):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("login"),
        {"username": manager_user.username, "password": "pw-for-tests", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
