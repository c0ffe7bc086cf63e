"""Settings of the web service, from ``PARLEY_*`` environment variables.

=======================  ==========================================================
``PARLEY_WEB_DIST``      directory of the built client (Vite's ``dist``: ``index.html``
                         plus hashed files under ``assets/``); default ``<repo>/web/dist``
                         in the workspace, ``/app/web/dist`` in the image
``PARLEY_ENVIRONMENT``,  see parley_settings.ServiceSettings
``PARLEY_INSTANCE_ID``,
``PARLEY_LOG_LEVEL``
=======================  ==========================================================
"""

from pathlib import Path

from pydantic import Field

from parley_settings import ServiceSettings

_MODULE = Path(__file__).resolve()
#: ``<repo>/web/dist`` when the package runs from the workspace (services/web/src/parley_web);
#: installed elsewhere (the image: /app/code/parley_web), ``/app/web/dist``, where the image
#: puts the client
DEFAULT_DIST = (_MODULE.parents[4] / "web" / "dist" if len(_MODULE.parents) > 4
                else Path("/app/web/dist"))


class Settings(ServiceSettings):
    """Everything the web service reads: where the built client is. No Kafka, no MongoDB."""

    web_dist: Path = Field(default=DEFAULT_DIST)
