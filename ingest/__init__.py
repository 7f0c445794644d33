"""bldgwatch ingest."""
