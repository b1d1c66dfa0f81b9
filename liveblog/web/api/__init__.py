"""The JSON API under /api; each module declares its operations once, for routing and OpenAPI."""
