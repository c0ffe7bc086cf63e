"""HTTP API of meetings (docs/http-api.md, section meetings)."""
