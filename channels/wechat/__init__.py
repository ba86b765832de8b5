"""WeChat Official Account adapter: callback route, passive replies, async API client."""
