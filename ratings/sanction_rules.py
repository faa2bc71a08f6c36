"""Permission rules (registered on import, from RatingsConfig.ready)."""
