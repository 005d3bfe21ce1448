"""Account, login, users, settings, credits and deployment through the real alooma client."""

from __future__ import annotations

from typing import Any

import alooma
import pytest
import requests

from tests.dialects.alooma.conftest import Alooma


def test_the_account_is_discovered_and_an_account_path_works(al: Alooma) -> None:
    assert al.client.account_name == al.slug
    with_account = al.client_for(al.org.keys["admin"], account=al.slug)
    assert with_account.rest_url.endswith(f"/alooma/{al.slug}/rest/")
    assert with_account.get_users()


def test_a_key_of_another_account_or_no_key_is_refused_with_401(al: Alooma) -> None:
    wrong = al.client_for(al.org.keys["admin"], account="not-" + al.slug)
    with pytest.raises(Exception, match="Invalid key or check account name"):
        wrong.get_users()
    with pytest.raises(Exception, match="Invalid key or check account name"):
        al.client_for("olk_not_a_key")
    anonymous = requests.get(f"{al.base}/rest/user/", timeout=30)
    assert anonymous.status_code == 401
    assert "message" in anonymous.json()


def test_username_and_password_log_in_lazily_with_a_cookie(al: Alooma) -> None:
    email, password = al.user_with_password()
    client = alooma.Client(username=email, password=password, base_url=al.base)
    assert client.account_name == al.slug
    assert email in {u["email"] for u in client.get_users()}
    assert client.get_samples_stats() == {}  # a direct call: carries the cookie of the login above
    with_account = alooma.Client(username=email, password=password, account_name=al.slug, base_url=al.base)
    assert with_account.get_deployment_info()["deploymentName"] == al.slug
    login = requests.post(f"{al.base}/rest/login", json={"email": email, "password": password}, timeout=30)
    assert login.status_code == 200
    cookie = login.headers["set-cookie"].lower()
    assert "path=/" in cookie and "httponly" in cookie and "secure" not in cookie
    wrong = alooma.Client(username=email, password="wrong", account_name=al.slug, base_url=al.base)
    with pytest.raises(Exception, match="Failed logging in"):
        wrong.get_users()


def test_get_users_splits_names_and_marks_pending_users(al: Alooma) -> None:
    email, _ = al.user_with_password("viewer")
    users = {u["email"]: u for u in al.client.get_users()}
    assert users[email] == {"email": email, "first_name": "Ada", "last_name": "Lovelace", "isPending": False}
    assert users[f"editor@{al.slug}.test"]["isPending"] is True


def test_settings_email_notifications_and_s3_retention(al: Alooma) -> None:
    settings = al.client.get_settings()
    email = settings["email-notifications"]
    assert email["digestFrequency"] == "DAILY" and email["recipients"] == []
    assert {"digestSendHour", "digestEmailsTimeZone", "notificationsInDigest"} <= set(email)
    al.client.set_settings_email_notifications(
        {
            **alooma.alooma.DEFAULT_SETTINGS_EMAIL_NOTIFICATIONS,
            "digestFrequency": "WEEKLY",
            "recipients": ["a@b.c"],
        }
    )
    email = al.client.get_settings()["email-notifications"]
    assert email["digestFrequency"] == "WEEKLY" and email["recipients"] == ["a@b.c"]

    al.client.delete_s3_retention()  # nothing set yet: still fine
    al.client.set_s3_retention("bucket", "AKIA123", "s3cr3t", file_prefix="raw/", gzip=False)
    retention = al.client.get_settings()["s3-retention"]
    assert retention["awsBucketName"] == "bucket" and retention["awsAccessKeyId"] == "AKIA123"
    assert retention["awsSecretAccessKey"] == "**********"
    assert retention["filePrefix"] == "raw/" and retention["gzip"] is False
    al.client.delete_s3_retention()
    assert al.client.get_settings()["s3-retention"]["awsBucketName"] is None


def test_deployment_info_and_credits(al: Alooma) -> None:
    info = al.client.get_deployment_info()
    assert info["deploymentName"] == al.slug
    assert {"gitBranch", "gitCommitId", "gitAuthorEmail", "buildTimestamp"} <= set(info)
    credits: dict[str, Any] = al.client.get_company_credits()
    assert credits["used_credits"] == 0 and credits["payment_period"] == "MONTHLY"
    assert {"company_name", "start_date", "subscription_type"} <= set(credits)
    assert al.client.get_used_credits() == []
    assert al.client.get_used_credits(from_day="2020-01-01", to_day="2020-01-31", all_instances=True) == []


def test_an_unknown_path_is_a_json_501_and_never_a_redirect(al: Alooma) -> None:
    answer = al.raw("GET", "no-such-thing/", allow_redirects=False)
    assert answer.status_code == 501 and answer.json()["error"]["code"] == "not_implemented"
    assert "no-such-thing" in answer.json()["message"]
    assert al.raw("DELETE", "schemas/").status_code == 405  # the path exists, not the method
    assert requests.get(al.base + "/api/anything", timeout=30).status_code == 501
