"""Composition root: settings, the aiohttp app factory, the ``opsbot`` CLI, the sandbox launcher."""
