"""Corp tags (企业客户标签) of a corp: tag groups holding tags, what get_corp_tag_list shows,
add_corp_tag creates and mark_tag puts on a member's customers.

- A tag group has a ``group_id``, a ``group_name`` (unique in the corp), a ``create_time`` and an
  ``order``; its tags have an ``id``, a ``name`` (unique in the group), a ``create_time`` and an
  ``order``. Group ids and tag ids both look like "et" + 30 characters, as the platform's do.
- Listings put a larger ``order`` first (the platform's rule), then older ones first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Final

CORP_TAG: Final = 1
"""`type` of a corp tag in follow_user tags (2 would be a member's personal tag)."""


def new_tag_id() -> str:
    """A tag or tag-group id ("et" + 30 hex digits)."""
    return "et" + secrets.token_hex(15)


@dataclass
class CorpTag:
    """One tag of a tag group."""

    id: str
    name: str
    create_time: int
    order: int = 0

    def as_json(self) -> dict[str, Any]:
        """The tag item of get_corp_tag_list / add_corp_tag."""
        return {
            "id": self.id,
            "name": self.name,
            "create_time": self.create_time,
            "order": self.order,
        }


@dataclass
class TagGroup:
    """A tag group (标签组) and its tags."""

    group_id: str
    group_name: str
    create_time: int
    order: int = 0
    tags: list[CorpTag] = field(default_factory=list)

    def named(self, name: str) -> CorpTag | None:
        """The group's tag called `name`."""
        return next((t for t in self.tags if t.name == name), None)

    def as_json(self, tags: list[CorpTag] | None = None) -> dict[str, Any]:
        """The tag_group object, with `tags` (default: all of them, larger order first)."""
        shown = self.tags if tags is None else tags
        return {
            "group_id": self.group_id,
            "group_name": self.group_name,
            "create_time": self.create_time,
            "order": self.order,
            "tag": [t.as_json() for t in sorted(shown, key=lambda t: -t.order)],
        }


class CorpTags:
    """The tag groups of one corp, in creation order."""

    def __init__(self) -> None:
        self.groups: dict[str, TagGroup] = {}

    def ordered(self) -> list[TagGroup]:
        """The groups as listings show them: larger order first, then older first."""
        return sorted(self.groups.values(), key=lambda g: -g.order)

    def by_name(self, name: str) -> TagGroup | None:
        """The group called `name`."""
        return next((g for g in self.groups.values() if g.group_name == name), None)

    def find(self, tag_id: object) -> tuple[TagGroup, CorpTag] | None:
        """A tag by id, with its group."""
        for group in self.groups.values():
            for tag in group.tags:
                if tag.id == tag_id:
                    return group, tag
        return None

    def describe(self, tag_ids: list[str]) -> list[dict[str, Any]]:
        """The tags item of externalcontact/get follow_user for these ids (unknown ids left
        out): ``[{group_name, tag_name, type: 1, tag_id}]``."""
        items: list[dict[str, Any]] = []
        for tag_id in tag_ids:
            found = self.find(tag_id)
            if found is not None:
                group, tag = found
                items.append(
                    {
                        "group_name": group.group_name,
                        "tag_name": tag.name,
                        "type": CORP_TAG,
                        "tag_id": tag.id,
                    }
                )
        return items
