"""The shared room: helpers every other room may use."""
