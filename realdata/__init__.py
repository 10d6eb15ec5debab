"""realdata part of locent."""
