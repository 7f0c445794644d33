"""bldgwatch gateway."""
