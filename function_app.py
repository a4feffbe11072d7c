"""The Function App: builds the app and registers its blueprints, nothing else.

HTTP is one ASGI function (FastAPI); queue and timer functions come from blueprints.
"""

import azure.functions as func

from shared.api.app import create_api
from shared.config import load_settings
from shared.observability.logs import configure_logging

# The environment only: locally the host (shared.devhost, like Core Tools) has already put
# local.settings.json Values into it.
settings = load_settings(local_settings=None)
configure_logging(settings.log_level)

app = func.AsgiFunctionApp(app=create_api(settings), http_auth_level=func.AuthLevel.ANONYMOUS)
