"""Files shipped with PyROS: the default configuration and the demo site."""
