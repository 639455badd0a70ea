"""The offline sandbox: the real bot against a built-in local Discord, driven from a terminal.

`hotpapers sandbox` starts it (see `bot.sandbox.run`); the local Discord itself
(`bot.sandbox.local_discord`) also serves the end-to-end tests. Nothing here imports discord,
so the command line can name the demo without loading it.
"""

# What `hotpapers sandbox --demo` types first.
DEMO_SCRIPT = ("/subscribe cs.CV", "/paper 2103.03206", "/digest", "/settings top:5")
