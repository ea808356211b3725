"""The model-affinity demo: fake providers, the database selection agent and the demo config."""
