"""Settings of the web service, from ``PARLEY_*`` environment variables.

=======================  ==========================================================
``PARLEY_WEB_DIST``      directory of the built client (Vite's ``dist``: ``index.html``
                         plus hashed files under ``assets/``); default ``<repo>/web/dist``
``PARLEY_ENVIRONMENT``,  see parley_settings.ServiceSettings
``PARLEY_INSTANCE_ID``,
``PARLEY_LOG_LEVEL``
=======================  ==========================================================
"""

from pathlib import Path

from pydantic import Field

from parley_settings import ServiceSettings

#: ``<repo>/web/dist`` when the package runs from the workspace (services/web/src/parley_web).
DEFAULT_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"


class Settings(ServiceSettings):
    """Everything the web service reads: where the built client is. No Kafka, no MongoDB."""

    web_dist: Path = Field(default=DEFAULT_DIST)
