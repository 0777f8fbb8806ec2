"""The WebSocket service that fans NATS subjects out to browsers."""
