"""Neutral messages -> passive reply XML (platform-facts.md §1.7).

wechatpy's reply classes are not used here: they place text inside CDATA unescaped (a ``]]>`` in
the content breaks the XML) and format video fields twice (a ``{`` in a title raises), so replies
are rendered here, with every string made CDATA-safe.
"""

from __future__ import annotations

from channels.wechat.limits import PASSIVE_NEWS_TO_EVENT, PASSIVE_NEWS_TO_MESSAGE
from channels.wechat.verify import cdata_safe
from handlers.messages import Image, Message, Music, News, Text, TransferToAgent, Video, Voice


def _c(name: str, value: str) -> str:
    return f"<{name}><![CDATA[{cdata_safe(value)}]]></{name}>"


def render_passive(
    message: Message, *, to_user: str, from_user: str, create_time: int, to_message: bool
) -> str:
    """The reply XML; ``to_message`` is True when answering a customer message (news: 1 article)."""
    if isinstance(message, Text):
        kind, body = "text", _c("Content", message.content)
    elif isinstance(message, Image):
        kind, body = "image", f"<Image>{_c('MediaId', message.media_id)}</Image>"
    elif isinstance(message, Voice):
        kind, body = "voice", f"<Voice>{_c('MediaId', message.media_id)}</Voice>"
    elif isinstance(message, Video):
        kind = "video"
        body = (
            f"<Video>{_c('MediaId', message.media_id)}{_c('Title', message.title)}"
            f"{_c('Description', message.description)}</Video>"
        )
    elif isinstance(message, Music):
        kind = "music"
        body = (
            f"<Music>{_c('Title', message.title)}{_c('Description', message.description)}"
            f"{_c('MusicUrl', message.music_url)}{_c('HQMusicUrl', message.hq_music_url)}"
            f"{_c('ThumbMediaId', message.thumb_media_id)}</Music>"
        )
    elif isinstance(message, News):
        limit = PASSIVE_NEWS_TO_MESSAGE if to_message else PASSIVE_NEWS_TO_EVENT
        articles = message.articles[:limit]
        items = "".join(
            f"<item>{_c('Title', a.title)}{_c('Description', a.description)}"
            f"{_c('PicUrl', a.picurl)}{_c('Url', a.url)}</item>"
            for a in articles
        )
        kind = "news"
        body = f"<ArticleCount>{len(articles)}</ArticleCount><Articles>{items}</Articles>"
    elif isinstance(message, TransferToAgent):
        kind = "transfer_customer_service"
        body = f"<TransInfo>{_c('KfAccount', message.agent)}</TransInfo>" if message.agent else ""
    else:  # pragma: no cover - the Message union is closed
        raise TypeError(f"cannot render {type(message).__name__} as a passive reply")
    return (
        f"<xml>{_c('ToUserName', to_user)}{_c('FromUserName', from_user)}"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}</xml>"
    )
