"""Platform-neutral product behaviour: reply rules, follow and menu replies, delivery."""
