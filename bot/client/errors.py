"""Errors of the Discord side that the command line reports without a traceback."""


class BotStartError(RuntimeError):
    """Discord refused to let the bot in; the message says why, without the token."""
