"""Shared kernel of bldgwatch: models, codec, topics, config, MQTT, profiles, storage."""
