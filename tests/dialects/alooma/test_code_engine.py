"""The Code Engine through the real alooma client: modules, test runs, requirements, secrets."""

from __future__ import annotations

import json

import pytest

from tests.dialects.alooma.conftest import Alooma

UPPER = "import helpers\n\ndef transform(event):\n    print('seen', event['n'])\n    return helpers.shout(event)\n"
HELPERS = "def shout(event):\n    event['name'] = event['name'].upper()\n    return event\n"


def test_modules_are_saved_listed_and_deleted(al: Alooma) -> None:
    assert al.client.get_code_engine_module("main") == "def transform(event):\n\treturn event"
    al.client.set_code_engine_code({"main": UPPER, "helpers": HELPERS})
    assert al.client.get_code_engine_code() == {"main": UPPER, "helpers": HELPERS}
    assert al.client.get_all_transforms() == {"main": UPPER, "helpers": HELPERS}
    assert al.client.get_code_engine_module("helpers") == HELPERS
    assert al.client.get_transform("helpers") == HELPERS
    al.client.set_transform(HELPERS.replace("upper", "lower"), module_name="helpers")
    assert "lower" in al.client.get_code_engine_module("helpers")
    al.client.set_transform(HELPERS, module_name="helpers")

    ran = al.client.test_transform({"n": 1, "name": "ada"})
    assert ran["result"] == {"n": 1, "name": "ADA"}
    assert "seen 1" in ran["output"]
    assert isinstance(ran["runtime"], int | float)

    tested = al.client.test_code_engine_code({"n": 2, "name": "bob"})
    assert tested["result"] == {"n": 2, "name": "BOB"}

    al.client.set_transform_to_default()
    assert al.client.get_code_engine_module() == "def transform(event):\n\treturn event"
    al.client.delete_code_engine_module("helpers")
    with pytest.raises(KeyError):
        al.client.get_code_engine_module("helpers")
    al.client.set_transform(HELPERS, module_name="extra")
    al.client.delete_transform("extra")
    assert "extra" not in al.client.get_code_engine_code()


def test_a_temporary_transform_runs_without_being_saved(al: Alooma) -> None:
    code = "def transform(event):\n    event['x'] = 1\n    return event\n"
    assert al.client.test_transform({"a": 1}, temp_transform=code)["result"] == {"a": 1, "x": 1}
    dropped = al.client.test_transform({"a": 1}, temp_transform="def transform(event):\n\treturn None")
    assert dropped["result"] is None
    broken = al.client.test_transform({"a": 1}, temp_transform="def transform(event):\n\treturn 1 / 0")
    assert broken["result"] is None and "ZeroDivisionError" in broken["output"]
    assert al.client.get_code_engine_module() == "def transform(event):\n\treturn event"


def test_requirements_list_importable_packages(al: Alooma) -> None:
    requirements = al.client.get_code_engine_requirements()
    assert all({"name", "version"} <= set(r) for r in requirements)
    assert isinstance(al.client.get_code_engine_requirements(text_format=True), str)


def test_secrets_show_names_only_and_reach_transforms(al: Alooma) -> None:
    al.client.set_secrets({"my_user": "ada", "my_password": "s3cret"})
    names = json.loads(al.client.get_secrets())
    assert sorted(names) == ["my_password", "my_user"]
    code = (
        "from transform_secrets import secrets\n\n"
        "def transform(event):\n    event['who'] = secrets['my_user']\n    return event\n"
    )
    assert al.client.test_transform({"a": 1}, temp_transform=code)["result"] == {"a": 1, "who": "ada"}
    al.client.delete_secret("my_password")
    assert json.loads(al.client.get_secrets()) == ["my_user"]
    assert b"s3cret" not in al.client.get_secrets()
