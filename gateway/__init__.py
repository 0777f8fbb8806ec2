"""The MCP gateway: a trained model choosing among a team's own MCP servers' tools, every call
passed through, every decision logged (`agentgym gateway`; gateway/server.py)."""
