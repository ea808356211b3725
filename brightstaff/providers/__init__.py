"""Pure per-provider knowledge: default endpoints, credentials and request rewrites."""
