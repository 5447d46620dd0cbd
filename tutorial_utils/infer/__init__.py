"""The inference room: optimize_for_inference and its parts (lesson 07)."""
