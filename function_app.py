"""The Function App: builds the app and registers its blueprints, nothing else.

HTTP is one ASGI function (FastAPI); queue and timer functions come from blueprints that share
the same services.
"""

import gc

import azure.functions as func

from shared.api.app import create_api
from shared.config import load_settings
from shared.jobs.credentials import credential_blueprint
from shared.jobs.exports import export_blueprint
from shared.jobs.intelligence import intelligence_blueprint
from shared.jobs.lifecycle import lifecycle_blueprint
from shared.jobs.runs import run_blueprint
from shared.jobs.schedules import schedule_blueprint
from shared.jobs.trends import trends_blueprint
from shared.observability.logs import configure_logging
from shared.services import Services

# The environment only: locally the host (shared.devhost, like Core Tools) has already put
# local.settings.json Values into it.
settings = load_settings(local_settings=None)
configure_logging(settings.log_level)
services = Services(settings)

app = func.AsgiFunctionApp(app=create_api(settings, services), http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(run_blueprint(services))
app.register_functions(credential_blueprint(services))
app.register_functions(lifecycle_blueprint(services))
app.register_functions(export_blueprint(services))
app.register_functions(schedule_blueprint(services))
app.register_functions(trends_blueprint(services))
app.register_functions(intelligence_blueprint(services))

# Everything built so far (modules, schemas, SDK clients, the app) lives as long as the process.
# Frozen, it is left out of the collector's full passes: otherwise each pass walks it all, about
# 100 ms with the GIL held, stalling every provider call in flight and the start of each shard.
gc.collect()
gc.freeze()
