"""bldgwatch maintenance."""
