-- Where in the stream the collector began, kept with its cursor: days that ended before it
-- are never built (nothing of them was seen), and the day it began in is built from the part
-- it saw. A cursor stored before this column existed says the least we know.

ALTER TABLE bluesky_cursor ADD COLUMN since_us INTEGER;  -- Jetstream time_us of the first batch
UPDATE bluesky_cursor SET since_us = time_us;
