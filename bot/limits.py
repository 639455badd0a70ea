"""How much one Discord message or interaction answer may hold, and the bot's own caps that
follow from it: each number once, for the renderer, the commands, the config and the tests.

Discord refuses a body over any of these with a 400; the renderer shortens and splits so that
none is ever reached. Characters are counted as Discord counts them (code points).
"""

from __future__ import annotations

# A message.
CONTENT = 2000  # characters of content (the API description says 4000; Discord takes 2000)
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL = 6000  # characters of all a message's embeds: titles, descriptions, fields,
# footers and author names together

# One embed.
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER_TEXT = 2048
AUTHOR_NAME = 256
EMBED_URL = 2048

# Components.
ACTION_ROWS = 5  # rows of buttons or a select menu in a message
BUTTONS_PER_ROW = 5
BUTTON_LABEL = 80
BUTTON_URL = 512
CUSTOM_ID = 100  # a button's or select menu's id, sent back when it is used
SELECT_OPTIONS = 25
SELECT_OPTION_LABEL = 100
SELECT_OPTION_VALUE = 100
SELECT_OPTION_DESCRIPTION = 100
SELECT_PLACEHOLDER = 150

# Slash commands and their autocomplete answers.
CHOICES = 25  # choices in an autocomplete answer (or declared on an option)
CHOICE_NAME = 100
CHOICE_VALUE = 100
COMMAND_OPTIONS = 25
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
COMMANDS = 100  # global chat-input commands of one application

NONCE = 25  # characters of a message-create nonce

# The bot's own cap, from the limits above: a digest lists at most this many papers (`top`),
# one embed each, so it fits in three messages of EMBEDS_PER_MESSAGE; a longer one would be a
# wall of embeds nobody reads. `/settings top`, `[digest] top` and `hotpapers digest --top`
# all stop here.
DIGEST_TOP = 25
# The highest minimum score a channel (/settings) or `hotpapers digest --min-score` takes.
MIN_SCORE_LIMIT = 10_000_000

# The bot's own cap on follows (`/follow`): a channel, and a member, follow at most this many
# keywords and authors, so that `/following` lists them in one message and `/unfollow`
# offers each of them in one autocomplete answer (CHOICES).
FOLLOWS = 25
