"""Observation requests: their specification, XML form, the one builder every entry point
(CLI, web form, XML upload, JSON API, alerts) goes through, and changes to stored requests."""
