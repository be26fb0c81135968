"""Settings modules: base (environment-driven, embedded defaults), production, test."""
