"""Building each new day from Bluesky: the posts that link arXiv papers and their attention."""
