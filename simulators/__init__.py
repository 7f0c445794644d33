"""bldgwatch simulators."""
