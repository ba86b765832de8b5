"""WeCom (企业微信): the self-built app chat staff and admins use."""
