"""Courses: folders of assignments that a course team keeps in its own repository.

``locate`` finds a course (a folder, an installed course, the built-in one) and ``settings``
reads its course.toml, both without torch; ``course`` imports each assignment under a package
name of its own. Imports authoring, options, builtin and outcomes; grading asks it for
assignments, reports for a course's name.
"""
