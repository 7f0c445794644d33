"""Shared kernel of bldgwatch: models, wire codec, topics, config, MQTT, profiles, storage helpers."""
