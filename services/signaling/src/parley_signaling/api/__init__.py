"""The socket.io surface of signaling (its HTTP surface is only health and metrics)."""
