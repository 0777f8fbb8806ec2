"""AgentGym's shared core: contracts, NATS names, settings, key-value and artifact stores."""

__version__ = "0.1.0"
