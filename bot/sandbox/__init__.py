"""The offline sandbox: the real bot against a built-in local Discord, driven from a terminal.

`hotpapers run` starts it when no DISCORD_TOKEN is set (see `bot.sandbox.run`); the local
Discord itself (`bot.sandbox.local_discord`) also serves the end-to-end tests.
"""
