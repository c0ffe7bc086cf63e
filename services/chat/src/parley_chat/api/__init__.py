"""HTTP API of chat (docs/http-api.md, section chat)."""
