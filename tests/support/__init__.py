"""Test machinery shared by the tests and the benches; nothing here is a test.

``fake_discord`` (the local Discord with request validation, ``schema``, and injected
failures, ``faults``), ``harness`` (the bot in process against it), ``processes`` (the bot as
``hotpapers run`` processes, killed and restarted), ``chaos`` (delivery while Discord fails
at random), ``posts`` (sample, merged and broken posts) and ``database`` (a database locked or
read-only). Benches import from here, never from test modules.
"""
