"""The configuration: ``production`` when a live API is set (``GM_API_URL`` and
``GM_API_KEY``), else ``sandbox``, which also serves the API's emulator."""

import os

if os.environ.get("GM_API_URL") and os.environ.get("GM_API_KEY"):
    from .production import *  # noqa: F403
else:
    from .sandbox import *  # noqa: F403
