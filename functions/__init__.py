"""Stateless REST handlers (FastAPI, Mangum on Lambda). They never import training code."""
