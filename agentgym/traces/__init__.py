"""What agents did, brought in as logged episodes (ARCHITECTURE.md, "Learning from what agents
did"): `otlp` reads OTLP/HTTP bodies, `genai` reads GenAI spans and evaluation events as pieces
of episodes, `episodes` joins them and makes a scenario's logs, `privacy` redacts users' words
at ingest."""
