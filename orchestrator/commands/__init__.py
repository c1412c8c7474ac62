"""One module per verb; ``cli.py`` parses flags into frozen options (``options.py``) and calls ``run``."""
