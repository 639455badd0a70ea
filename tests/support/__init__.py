"""Test machinery shared by the tests and the benches: the fake Discord, the bot harnesses.

Nothing here is a test; benches import from here, never from test modules.
"""
