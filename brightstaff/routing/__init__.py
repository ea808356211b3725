"""Routers: strategies that pick a provider for a conversation; one strategy per module."""
