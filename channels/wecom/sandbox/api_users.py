"""Members of the corp directory: GET /cgi-bin/user/get?userid=.

The answer is ``{userid, name, department, status}`` of a member of the app's corp (the userid
as stored, names as the directory has them; the fake's members all sit in the root department 1
and are active, status 1). A missing or malformed userid answers 40003, one the corp does not
have 60111 "userid not found". The app's visible range is not modelled (every member is seen).
"""

from __future__ import annotations

from .api import ApiContext, JsonResult, ok
from .errors import WecomApiError
from .state import USERID

ROOT_DEPARTMENT = 1
ACTIVE = 1


async def user_get(ctx: ApiContext) -> JsonResult:
    """One member: {userid, name, department, status}."""
    userid = ctx.query("userid") or ""
    if not USERID.fullmatch(userid):
        raise WecomApiError(40003, "userid must be 1-64 of [A-Za-z0-9_.@-]")
    member = ctx.state.corp.find(userid)
    if member is None:
        raise WecomApiError(60111, f"{userid!r} is not a member of the corp")
    return ok(
        userid=member.userid,
        name=member.name,
        department=[ROOT_DEPARTMENT],
        status=ACTIVE,
    )
