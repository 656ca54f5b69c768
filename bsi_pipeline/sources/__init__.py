"""Source adapters: one module per source kind, each turning raw files into the shared game schema."""
