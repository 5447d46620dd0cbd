"""Developer tools that work on the repository, not part of the installed package."""
