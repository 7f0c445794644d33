"""bldgwatch console."""
