"""Reading one sample of a service's Prometheus metrics in a test."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


def sample_value(exposition: str, name: str, **labels: str) -> float:
    """The value of the first sample ``name`` (the exposed name: a counter's ends in
    ``_total``) whose labels include ``labels``, in the Prometheus text ``exposition``; 0.0
    when there is none (a labelled series not incremented yet is not exposed)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def scraped_value(url: str, name: str, **labels: str) -> float:
    """:func:`sample_value` of ``GET {url}/metrics`` (a service's base URL)."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/metrics")
    response.raise_for_status()
    return sample_value(response.text, name, **labels)
