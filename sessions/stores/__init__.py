"""Session stores: where records live between requests."""
