"""The reference model room: the modules HA-CNN is made of (lessons 01-06)."""
