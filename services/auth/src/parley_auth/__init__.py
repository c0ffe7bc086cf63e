"""Parley auth: users, argon2id passwords, EdDSA access tokens, rotating refresh tokens, JWKS."""
