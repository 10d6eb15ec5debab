"""simulate part of locent."""
