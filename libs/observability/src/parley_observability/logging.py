"""One log format for every service: time, level, service, logger, message."""

import logging


def configure_logging(service: str, level: str = "INFO") -> None:
    """Configure the root logger once for ``service`` at ``level`` (a logging level name)."""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s",
        force=True,
    )
