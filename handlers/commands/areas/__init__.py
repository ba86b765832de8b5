"""The admin and staff command areas, and the one registry they make up."""

from __future__ import annotations

from handlers.commands.areas import (
    admin,
    basics,
    channels,
    contact_stats,
    follow,
    group_codes,
    groups,
    lead_channels,
    live_codes,
    mass,
    materials,
    menu,
    reception,
    rules,
    scripts,
    sop,
    stats,
)
from handlers.commands.registry import Registry
from handlers.commands.wizard import Wizard


def build_registry() -> Registry:
    registry = Registry()
    for spec in [
        *basics.specs(registry.help),
        *rules.specs(),
        *follow.specs(),
        *channels.specs(),
        *menu.specs(),
        *materials.specs(),
        *mass.specs(),
        *stats.specs(),
        *scripts.specs(),
        *groups.specs(),
        *group_codes.specs(),
        *sop.specs(),
        *lead_channels.specs(),
        *reception.specs(),
        *live_codes.specs(),
        *contact_stats.specs(),
        *admin.specs(),
    ]:
        registry.add(spec)
    return registry


def build_wizards() -> dict[str, Wizard]:
    wizards = (
        follow.FOLLOW_WIZARD,
        menu.MENU_WIZARD,
        materials.IMAGE_WIZARD,
        materials.NEWS_WIZARD,
        mass.NEW_WIZARD,
        sop.SOP_WIZARD,
        *lead_channels.wizards(),
        *scripts.wizards(),
    )
    return {w.name: w for w in wizards}
