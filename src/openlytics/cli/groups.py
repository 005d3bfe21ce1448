"""`openlytics groups ...`: groups, their members and the privileges they give (docs/governance.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from openlytics.cli._common import ApiKeyOption, JsonOption, UrlOption, connect, console
from openlytics.cli._render import print_json, print_model, print_models

app = typer.Typer(help="Manage groups: members, nesting and privileges (admins).", no_args_is_help=True)

COLUMNS = ("id", "name", "display_name", "visibility", "privileges", "description")
USER_COLUMNS = ("id", "email", "name", "role")
GroupId = Annotated[int, typer.Argument(help="Group id.")]
UserIds = Annotated[list[int], typer.Argument(help="User ids.")]
Privileges = Annotated[list[str] | None, typer.Option("--privilege", "-p", help="A privilege; repeatable.")]


@app.command("list")
def list_groups(
    pattern: Annotated[
        str | None, typer.Option("--pattern", help="Part of the name or display name.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """List the organization's groups."""
    with connect(url, api_key) as client:
        groups = client.groups.list(pattern)
    if json:
        print_json(groups)
    else:
        print_models(groups, COLUMNS, title="Groups")


@app.command("create")
def create_group(
    name: Annotated[str, typer.Argument(help="Group name (unique in the organization).")],
    display_name: Annotated[str | None, typer.Option("--display-name", help="Name shown to people.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What the group is.")] = None,
    privilege: Privileges = None,
    non_sharable: Annotated[
        bool, typer.Option("--non-sharable", help="Nothing can be shared with the group.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create a group."""
    visibility = "NON_SHARABLE" if non_sharable else "DEFAULT"
    with connect(url, api_key) as client:
        group = client.groups.create(
            name,
            display_name=display_name,
            description=description,
            privileges=privilege or [],
            visibility=visibility,
        )
    console().print(f"Created group [bold]{group.id}[/] ({group.name}).")


@app.command("delete")
def delete_group(group_id: GroupId, url: UrlOption = None, api_key: ApiKeyOption = None) -> None:
    """Delete a group (its members stay users; what was shared with it is no longer)."""
    with connect(url, api_key) as client:
        client.groups.delete(group_id)
    console().print(f"Deleted group [bold]{group_id}[/].")


@app.command("members")
def members(
    group_id: GroupId, url: UrlOption = None, api_key: ApiKeyOption = None, json: JsonOption = False
) -> None:
    """List a group's direct members and the groups inside it."""
    with connect(url, api_key) as client:
        users = client.groups.members(group_id)
        inside = client.groups.member_groups(group_id)
    if json:
        print_json({"users": users, "groups": inside})
        return
    print_models(users, USER_COLUMNS, title=f"Members of group {group_id}")
    if inside:
        print_models(inside, COLUMNS, title="Groups inside it (their members are members too)")


@app.command("add-member")
def add_member(
    group_id: GroupId, user_ids: UserIds, url: UrlOption = None, api_key: ApiKeyOption = None
) -> None:
    """Add users to a group."""
    with connect(url, api_key) as client:
        client.groups.set_members(group_id, user_ids, "ADD")
    console().print(f"Added {_users(user_ids)} to group [bold]{group_id}[/].")


@app.command("remove-member")
def remove_member(
    group_id: GroupId, user_ids: UserIds, url: UrlOption = None, api_key: ApiKeyOption = None
) -> None:
    """Take users out of a group."""
    with connect(url, api_key) as client:
        client.groups.set_members(group_id, user_ids, "REMOVE")
    console().print(f"Removed {_users(user_ids)} from group [bold]{group_id}[/].")


@app.command("privileges")
def privileges(
    group_id: GroupId,
    add: Annotated[list[str] | None, typer.Option("--add", help="Give a privilege; repeatable.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Take a privilege; repeatable.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    json: JsonOption = False,
) -> None:
    """Show the privileges a group gives its members, after adding or removing some."""
    with connect(url, api_key) as client:
        if add:
            client.groups.set_privileges(group_id, add, "ADD")
        if remove:
            client.groups.set_privileges(group_id, remove, "REMOVE")
        group = client.groups.get(group_id)
    if json:
        print_json(group.privileges)
    elif add or remove:
        print_model(group)
    else:
        console().print(", ".join(group.privileges) or "(none)")


def _users(user_ids: list[int]) -> str:
    return ("user " if len(user_ids) == 1 else "users ") + ", ".join(f"[bold]{i}[/]" for i in user_ids)
