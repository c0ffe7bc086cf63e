"""Chat rules: who may post and read, idempotent posting, paging."""
