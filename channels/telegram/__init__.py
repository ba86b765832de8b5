"""Telegram: a chat staff and admins can use instead of the WeCom app."""
