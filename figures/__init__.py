"""figures part of locent."""
