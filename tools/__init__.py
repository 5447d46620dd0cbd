"""Developer tools that work on the repository, not part of the installed package.

classroom: the student edition and the command line (``make student``, ``make html``,
``make nbgrader``, ``python -m tools.classroom link``); html_edition: the offline HTML pages;
nbgrader_export: nbgrader assignments; links: relative links in a copy; mathjax: MathJax for
the pages; prose_numbers: numbers a lesson's prose states that none of its outputs print;
lessons: the lesson catalogue and the maps, time lines and tables made from it; widget_state:
the widget state ``make execute`` saves and what each explorer shows in it.
They need the developer extras (nbformat, nbconvert, jupyter-server-mathjax; nbgrader to
grade); ``tutorial_utils`` never imports them.
"""
