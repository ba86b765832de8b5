"""Control of customer contacts for tests: a customer scanning a contact way's code, a member
deleting a customer and a customer deleting a member. Each change updates the corp's state and
then sends the matching change_external_contact callback (§4.5) to the app's callback URL,
signed and encrypted exactly like member callbacks (3 attempts in all).

Reach these through the FakeWecom methods (``scan_contact_way``, ``delete_external_contact``,
``delete_follow_user``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.wechat.sandbox.errors import ActionRejected

from .callbacks import wecom_contact_change_xml
from .contacts import ExternalContact, FollowUser, WelcomeCode, new_welcome_code
from .groups import new_external_userid
from .member import post_callback
from .state import AppState, FakeWecom


@dataclass(frozen=True)
class ContactOutcome:
    """One customer change and its callback: each attempt's HTTP status and the errors seen.

    `xml` is the decrypted event that was sent ("" and no attempts when not notified);
    `welcome_code` is "" when the event carried none.
    """

    change_type: str
    userid: str
    external_userid: str
    state: str
    welcome_code: str
    xml: str
    statuses: tuple[int | None, ...]
    errors: tuple[str, ...]
    delivered: bool

    def as_json(self) -> dict[str, Any]:
        """A JSON view of the outcome."""
        return {
            "change_type": self.change_type,
            "userid": self.userid,
            "external_userid": self.external_userid,
            "state": self.state,
            "welcome_code": self.welcome_code,
            "statuses": list(self.statuses),
            "errors": list(self.errors),
            "delivered": self.delivered,
        }


class ContactControl:
    """The customer-contact side of one app."""

    def __init__(self, wecom: FakeWecom, state: AppState) -> None:
        self.wecom = wecom
        self.state = state

    async def scan(
        self, config_id: str, name: str, userid: str | None, welcome: bool, notify: bool
    ) -> ContactOutcome:
        """A new customer scans the code of `config_id` and adds one of its members."""
        contacts = self.state.corp.contacts
        way = contacts.ways.get(config_id)
        if way is None:
            raise ActionRejected(404, f"no contact way {config_id!r} in this corp")
        if not way.users:
            raise ActionRejected(409, "the contact way names no member to add")
        if userid is None:
            member = way.users[way.next_member % len(way.users)]
            way.next_member += 1
        else:
            member = next((u for u in way.users if u.lower() == userid.lower()), "")
            if not member:
                raise ActionRejected(400, f"{userid!r} is not a member of the contact way")
        external_userid = new_external_userid()
        while external_userid in contacts.externals:  # pragma: no cover - 62**30 ids
            external_userid = new_external_userid()
        now = self.wecom.clock.now()
        customer = ExternalContact(external_userid, name or f"客户{external_userid[-4:]}")
        customer.follow[member.lower()] = FollowUser(member, int(now), state=way.state)
        contacts.externals[external_userid] = customer
        code = ""
        if welcome:
            code = new_welcome_code()
            contacts.welcome_codes[code] = WelcomeCode(code, member, external_userid, now)
        xml = wecom_contact_change_xml(
            self.state.app,
            "add_external_contact",
            member,
            external_userid,
            self._event_time(customer),
            state=way.state,
            welcome_code=code,
        )
        return await self._deliver(
            "add_external_contact", member, external_userid, way.state, code, xml, notify
        )

    async def drop(
        self, userid: str, external_userid: str, change_type: str, source: str, notify: bool
    ) -> ContactOutcome:
        """End the relation of member `userid` and the customer (either side deleted it)."""
        customer = self.state.corp.contacts.external(external_userid)
        if customer is None:
            raise ActionRejected(404, f"no external contact {external_userid!r} in this corp")
        follow = customer.follow.pop(userid.lower(), None)
        if follow is None:
            raise ActionRejected(400, f"{userid!r} does not have {external_userid!r} as customer")
        xml = wecom_contact_change_xml(
            self.state.app,
            change_type,
            follow.userid,
            external_userid,
            self._event_time(customer),
            source=source,
        )
        return await self._deliver(change_type, follow.userid, external_userid, "", "", xml, notify)

    def _event_time(self, customer: ExternalContact) -> int:
        # Kept distinct per customer: a receiver may dedupe on ids + ChangeType + CreateTime.
        customer.last_event = max(int(self.wecom.clock.now()), customer.last_event + 1)
        return customer.last_event

    async def _deliver(
        self,
        change_type: str,
        userid: str,
        external_userid: str,
        state: str,
        code: str,
        xml: str,
        notify: bool,
    ) -> ContactOutcome:
        if not notify:
            return ContactOutcome(
                change_type, userid, external_userid, state, code, "", (), (), False
            )
        delivery = await post_callback(self.wecom, self.state.app, xml)
        return ContactOutcome(
            change_type=change_type,
            userid=userid,
            external_userid=external_userid,
            state=state,
            welcome_code=code,
            xml=xml,
            statuses=delivery.statuses,
            errors=delivery.errors,
            delivered=delivery.body is not None,
        )
