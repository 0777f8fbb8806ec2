"""Training workers: consume commands from NATS, train, emit metrics."""
