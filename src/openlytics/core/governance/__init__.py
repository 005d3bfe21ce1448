"""Governance: groups with privileges and nesting, and sharing (docs/governance.md).

`privileges` (names, what they grant, effective groups), `groups` (GroupService, built on
core/teams.py: a group is a team row) and `sharing` (SharingService: who reaches an object).
Nothing is imported here, so `core/teams.py` and `core/identity.py` can use `privileges`.
"""
