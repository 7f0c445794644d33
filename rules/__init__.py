"""bldgwatch rules."""
