"""Document libraries: adding files (text, passages, vectors) and answering questions
from them (retrieve, then the ``ask`` task). The bot's /docs and /ask and the command
line's ``docs`` and ``run ask`` share ``library.py``."""
