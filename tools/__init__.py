"""Developer tools that work on the repository, not part of the installed package.

classroom: student copies and offline HTML of the lessons (``make student``, ``make html``).
They need the developer extras (nbformat, nbconvert); ``tutorial_utils`` never imports them.
"""
