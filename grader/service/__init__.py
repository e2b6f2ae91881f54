"""The web service, ``grader serve`` (issue 17, docs/service.md), and its staff's commands:
``tokens`` (access tokens, issued and revoked), ``uploads`` and ``policy`` (what an upload must be,
and whether its student may hand it in now: deadline, rate limit, quota), ``worker`` (``grader
worker``: claims the queue's jobs, grades each as a batch slot does, finishes it exactly once).
It imports batch, grading, gradebook, courses, authoring, runner, roster, options and outcomes;
nothing imports it but ``api`` and ``cli``.
"""
