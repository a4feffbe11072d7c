"""Cross-tenant intelligence: a daily timer publishes the opt-in aggregates per public model.

Thin: the work is `shared.trends.intelligence.IntelligencePublisher.publish`. A publication replaces
the previous one whole, so a missed or repeated tick only changes when the numbers are refreshed.
On demand: the host's admin endpoint runs the timer function (`POST /admin/functions/publish_intelligence`
in Azure), or `python -m shared.jobs.intelligence` with the app's settings in the environment.
"""

from __future__ import annotations

import asyncio
import logging

import azure.functions as func

from shared.config import load_settings
from shared.services import Services

log = logging.getLogger("tokenroute.jobs")

# Daily at 04:30 UTC, after the day's last rollups and the 03:00 retention sweep (six-field NCRONTAB).
INTELLIGENCE_SCHEDULE = "0 30 4 * * *"


def intelligence_blueprint(services: Services) -> func.Blueprint:
    """The publication timer, bound to the process's services."""
    blueprint = func.Blueprint()  # type: ignore[no-untyped-call]

    @blueprint.function_name("publish_intelligence")
    @blueprint.timer_trigger(arg_name="timer", schedule=INTELLIGENCE_SCHEDULE)
    async def publish_intelligence(timer: func.TimerRequest) -> None:
        del timer  # a late tick publishes the same window-to-date numbers
        # Storage calls are synchronous; keep them off the host's event loop.
        publication = await asyncio.to_thread(services.intelligence.publish)
        log.info("published %d intelligence cell(s)", publication.cells_published)

    return blueprint


def main() -> None:
    """Publish once now, with the settings in the environment."""
    publication = Services(load_settings(local_settings=None)).intelligence.publish()
    print(f"published {publication.cells_published} of {publication.cells_seen} cells ({publication.publication_id})")


if __name__ == "__main__":
    main()
