"""theory part of locent."""
