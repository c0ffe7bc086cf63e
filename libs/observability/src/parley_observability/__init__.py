"""Logging, health endpoints, API error responses and Prometheus HTTP metrics shared by every Parley service."""

from parley_observability.errors import (
    BEARER_401,
    BODY_400,
    ApiError,
    ErrorBody,
    ErrorResponse,
    ValidationErrorResponse,
    api_description,
    error_responses,
    install_api_error_handler,
    invalid_input_response,
)
from parley_observability.failures import RepeatedFailure
from parley_observability.gc_freeze import SurvivorFreezer
from parley_observability.health import ReadinessCheck, health_router
from parley_observability.logging import configure_logging, write_directly
from parley_observability.openapi import summarize_operations
from parley_observability.metrics import ACCESS_LOGGER, HttpMetrics, HttpMetricsMiddleware, metrics_router
from parley_observability.tasks import Periodic, stop_task

__all__ = [
    "ACCESS_LOGGER",
    "BEARER_401",
    "BODY_400",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "ValidationErrorResponse",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "ReadinessCheck",
    "RepeatedFailure",
    "SurvivorFreezer",
    "api_description",
    "configure_logging",
    "error_responses",
    "invalid_input_response",
    "health_router",
    "Periodic",
    "stop_task",
    "summarize_operations",
    "install_api_error_handler",
    "metrics_router",
    "write_directly",
]
