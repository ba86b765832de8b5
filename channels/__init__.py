"""One adapter per platform: verify and decode inbound, encode replies, API clients, fakes."""
