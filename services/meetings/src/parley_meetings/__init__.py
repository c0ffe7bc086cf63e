"""Parley meetings: meetings, invitations, membership and the live roster."""
