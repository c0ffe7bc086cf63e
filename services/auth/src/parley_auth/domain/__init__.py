"""Rules of auth: accounts, passwords, signing keys, access and refresh tokens."""
