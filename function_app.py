"""The Function App: builds the app and registers its blueprints, nothing else.

HTTP is one ASGI function (FastAPI); queue and timer functions come from blueprints.
"""

import azure.functions as func

from shared.api.app import create_api
from shared.config import load_settings
from shared.observability.logs import configure_logging

settings = load_settings()
configure_logging(settings.log_level)

app = func.AsgiFunctionApp(app=create_api(settings), http_auth_level=func.AuthLevel.ANONYMOUS)
