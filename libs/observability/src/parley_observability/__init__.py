"""Logging, health endpoints, API error responses and Prometheus HTTP metrics shared by every Parley service."""

from parley_observability.errors import ApiError, install_api_error_handler
from parley_observability.health import ReadinessCheck, health_router
from parley_observability.logging import configure_logging
from parley_observability.metrics import HttpMetrics, HttpMetricsMiddleware, metrics_router

__all__ = [
    "ApiError",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "ReadinessCheck",
    "configure_logging",
    "health_router",
    "install_api_error_handler",
    "metrics_router",
]
