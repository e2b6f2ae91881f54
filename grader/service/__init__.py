"""The web service, ``grader serve`` (issue 17, docs/service.md), and its staff's commands.

``tokens``: issuing the access tokens the service accepts, for a course's roster or its staff,
and revoking them. It imports the gradebook, the roster, courses, options and outcomes; nothing
imports it but ``api`` and ``cli``.
"""
