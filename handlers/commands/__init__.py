"""The chat command layer for staff and admins, platform-neutral: a registry of command specs,
one pipeline (normalize -> parse -> validate -> authorize -> confirm -> execute -> audit),
wizards and confirmations kept in the database, and the admin areas in ``areas``."""
